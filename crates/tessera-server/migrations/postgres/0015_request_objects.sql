-- Request objects (RFC 9101, JAR): a client registers the public keys it signs them with,
-- inline (jwks, a JWKS document) or by address (jwks_uri, fetched by Tessera), the one
-- algorithm it signs with (request_object_signing_alg, or none), and may require that
-- every authorization request be a signed request object.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE clients ADD COLUMN request_object_signing_alg TEXT;
ALTER TABLE clients ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT FALSE;
