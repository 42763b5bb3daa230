#!/bin/sh
# Run by the postgres image once, when its data volume is new: the role
# Temporal's server and schema job use, apart from Ticketflow's. It may
# create databases (temporal, temporal_visibility) and owns only those.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-v password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'password';
SQL
