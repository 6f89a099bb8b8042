-- Herald's first schema. Every row carries its tenant.

CREATE TABLE tenants (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants(id),
  key_hash    text NOT NULL UNIQUE,      -- sha256 of the key; the key itself is shown once and never stored
  prefix      text NOT NULL,             -- first characters, to recognise a key in a list
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE accounts (
  id                 text PRIMARY KEY,
  tenant_id          text NOT NULL REFERENCES tenants(id),
  platform           text NOT NULL,
  handle             text NOT NULL,
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'reauth_required', 'disabled')),
  credentials        text NOT NULL,      -- AES-256-GCM envelope "v1:<keyId>:<iv>:<tag>:<ciphertext>"
  settings           jsonb NOT NULL DEFAULT '{}',
  expires_at         timestamptz,
  last_refreshed_at  timestamptz,
  last_error         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz
);
CREATE INDEX accounts_tenant ON accounts (tenant_id, created_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE pipelines (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants(id),
  workflow_id      text NOT NULL UNIQUE,
  status           text NOT NULL,
  platforms        text[] NOT NULL,
  request          jsonb NOT NULL,
  state            jsonb NOT NULL,
  version          integer NOT NULL DEFAULT 0,
  idempotency_key  text,
  request_hash     text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX pipelines_tenant_created ON pipelines (tenant_id, created_at DESC, id DESC);
CREATE INDEX pipelines_tenant_status ON pipelines (tenant_id, status);

CREATE TABLE publications (
  pipeline_id      text NOT NULL REFERENCES pipelines(id),
  idx              integer NOT NULL,
  tenant_id        text NOT NULL REFERENCES tenants(id),
  platform         text NOT NULL,
  account_id       text,
  status           text NOT NULL,
  idempotency_key  text NOT NULL UNIQUE,
  external_id      text,
  url              text,
  attempts         integer NOT NULL DEFAULT 0,
  error            text,
  retry_at         timestamptz,
  published_at     timestamptz,
  preview          jsonb,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline_id, idx)
);
CREATE INDEX publications_tenant ON publications (tenant_id, platform, status);

CREATE TABLE media (
  id            text PRIMARY KEY,          -- unguessable: served without authentication
  tenant_id     text NOT NULL REFERENCES tenants(id),
  pipeline_id   text,
  content_type  text NOT NULL,
  bytes         bytea NOT NULL,
  width         integer,
  height        integer,
  source        text NOT NULL,
  alt           text NOT NULL DEFAULT '',
  attribution   text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_pipeline ON media (tenant_id, pipeline_id);

CREATE TABLE feedback (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants(id),
  pipeline_id  text NOT NULL REFERENCES pipelines(id),
  score        integer NOT NULL CHECK (score BETWEEN 0 AND 10),
  approved     boolean,
  comment      text,
  provider     text,
  format       text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_tenant ON feedback (tenant_id, created_at DESC);
