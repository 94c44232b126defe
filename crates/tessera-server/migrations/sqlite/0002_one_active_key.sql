-- Exactly one signing key per algorithm, also when a rotation races another writer.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE state = 'active';
