#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data volume
# (/docker-entrypoint-initdb.d). Creates one database per service, each owned by its own
# login role: a service can reach its own database and no other.
#
# Passwords come from the environment (SHOUHU_<SERVICE>_DB_PASSWORD, see .env.example).
# They end up inside a postgresql:// URL, so use URL-safe characters (e.g. `openssl rand -hex 24`).
# Changing a password later: ALTER ROLE shouhu_<service> PASSWORD '...'; then update .env and
# `docker compose up -d` (this script does not run again on an existing volume).
set -euo pipefail

for service in registry pairing visits notify reports; do
  var="SHOUHU_${service^^}_DB_PASSWORD"
  password="${!var:-}"
  if [[ -z "$password" ]]; then
    echo "10-shouhu-databases: $var is not set" >&2
    exit 1
  fi
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v role="shouhu_$service" -v db="shouhu_$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
-- `shouhu import` copies each table with its triggers off (session_replication_role = replica).
GRANT SET ON PARAMETER session_replication_role TO :"role";
\connect :"db"
-- PostgreSQL 15 no longer lets every role create in schema public; the owner role gets it.
ALTER SCHEMA public OWNER TO :"role";
SQL
  echo "10-shouhu-databases: created database shouhu_$service owned by shouhu_$service"
done
