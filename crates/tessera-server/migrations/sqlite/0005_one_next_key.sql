-- At most one staged (next) key per algorithm, so replicas cannot both start a rotation.
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (alg) WHERE state = 'next';
