-- A client's choice of ID token algorithm (OpenID Connect id_token_signed_response_alg).
ALTER TABLE clients ADD COLUMN id_token_alg TEXT;
