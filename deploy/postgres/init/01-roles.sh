#!/usr/bin/env bash
# One database role per schema, each owning only its own: the services' (catalog, pilots, analytics)
# and the gateway's (gateway: districts' identity providers, sessions, signing keys, sign-in audit).
#
# The postgres image runs this once, as the superuser, when its data volume is first initialised
# (/docker-entrypoint-initdb.d). It is idempotent, so it can also be run by hand against an existing
# cluster (PGHOST/PGPORT/PGUSER as usual) to add a role or rotate passwords.
#
# Needs: POSTGRES_USER, POSTGRES_DB, CATALOG_DB_PASSWORD, PILOTS_DB_PASSWORD, ANALYTICS_DB_PASSWORD,
# GATEWAY_DB_PASSWORD.
set -euo pipefail

: "${POSTGRES_DB:?POSTGRES_DB names the platform database}"
: "${CATALOG_DB_PASSWORD:?set CATALOG_DB_PASSWORD}"
: "${PILOTS_DB_PASSWORD:?set PILOTS_DB_PASSWORD}"
: "${ANALYTICS_DB_PASSWORD:?set ANALYTICS_DB_PASSWORD}"
: "${GATEWAY_DB_PASSWORD:?set GATEWAY_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
  --username "${POSTGRES_USER:-postgres}" --dbname "$POSTGRES_DB" \
  -v db="$POSTGRES_DB" \
  -v catalog_password="$CATALOG_DB_PASSWORD" \
  -v pilots_password="$PILOTS_DB_PASSWORD" \
  -v analytics_password="$ANALYTICS_DB_PASSWORD" \
  -v gateway_password="$GATEWAY_DB_PASSWORD" <<'SQL'
SET client_min_messages = warning;

-- Nobody gets anything by default: no CONNECT/TEMP on the database, no CREATE/USAGE on public,
-- no way into the maintenance databases. Each role is then granted exactly what it needs.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;

SELECT format('CREATE ROLE %I', name)
  FROM unnest(ARRAY['catalog', 'pilots', 'analytics', 'gateway']) AS name
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name)
\gexec

-- catalog
ALTER ROLE catalog WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  PASSWORD :'catalog_password';
GRANT CONNECT ON DATABASE :"db" TO catalog;
CREATE SCHEMA IF NOT EXISTS catalog AUTHORIZATION catalog;
ALTER SCHEMA catalog OWNER TO catalog;
REVOKE ALL ON SCHEMA catalog FROM PUBLIC;
ALTER ROLE catalog IN DATABASE :"db" SET search_path = catalog;

-- pilots
ALTER ROLE pilots WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  PASSWORD :'pilots_password';
GRANT CONNECT ON DATABASE :"db" TO pilots;
CREATE SCHEMA IF NOT EXISTS pilots AUTHORIZATION pilots;
ALTER SCHEMA pilots OWNER TO pilots;
REVOKE ALL ON SCHEMA pilots FROM PUBLIC;
ALTER ROLE pilots IN DATABASE :"db" SET search_path = pilots;

-- analytics
ALTER ROLE analytics WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  PASSWORD :'analytics_password';
GRANT CONNECT ON DATABASE :"db" TO analytics;
-- the counting workers hold each batch in temporary tables of their own connection
GRANT TEMPORARY ON DATABASE :"db" TO analytics;
CREATE SCHEMA IF NOT EXISTS analytics AUTHORIZATION analytics;
ALTER SCHEMA analytics OWNER TO analytics;
REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
ALTER ROLE analytics IN DATABASE :"db" SET search_path = analytics;

-- gateway (sign-in: providers' client secrets and the signing keys are stored encrypted)
ALTER ROLE gateway WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  PASSWORD :'gateway_password';
GRANT CONNECT ON DATABASE :"db" TO gateway;
CREATE SCHEMA IF NOT EXISTS gateway AUTHORIZATION gateway;
ALTER SCHEMA gateway OWNER TO gateway;
REVOKE ALL ON SCHEMA gateway FROM PUBLIC;
ALTER ROLE gateway IN DATABASE :"db" SET search_path = gateway;
SQL

echo "edtech: roles catalog, pilots, analytics, gateway own their schemas in database $POSTGRES_DB"
