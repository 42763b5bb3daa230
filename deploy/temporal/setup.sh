#!/bin/sh
# The one-shot Temporal jobs of docker-compose.yml, run in the
# temporalio/admin-tools image (temporal-sql-tool and the temporal CLI).
# Both are safe to run at every `docker compose up`.
#
#   setup.sh schema     create the databases temporal and temporal_visibility
#                       on PostgreSQL if missing, and bring their schemas up
#                       to the server's version (SQL_HOST, SQL_PORT, SQL_USER,
#                       SQL_PASSWORD, SQL_PLUGIN from the environment)
#   setup.sh namespace  create the namespace TEMPORAL_NAMESPACE if missing and
#                       register the search attributes every ticket workflow
#                       sets (TEMPORAL_ADDRESS from the environment)
#
# The dev server gets the same search attributes from scripts/temporal.sh;
# keep the two lists in step.
set -eu

schema() {
	for db in temporal visibility; do
		name=temporal
		[ "$db" = temporal ] || name=temporal_visibility
		# Fails when the database exists, which is the usual case.
		temporal-sql-tool --db "$name" create-database 2>/dev/null || echo "database $name exists"
		temporal-sql-tool --db "$name" setup-schema -v 0.0
		temporal-sql-tool --db "$name" update-schema --schema-name "postgresql/v12/$db"
	done
}

namespace() {
	ns=${TEMPORAL_NAMESPACE:-default}
	until temporal operator cluster health >/dev/null 2>&1; do
		echo "waiting for Temporal at $TEMPORAL_ADDRESS"
		sleep 2
	done
	temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 ||
		temporal operator namespace create --namespace "$ns" --retention 720h
	existing=$(temporal operator search-attribute list --namespace "$ns")
	for attr in TicketId=Keyword TicketStatus=Keyword TicketPriority=Keyword TicketCategory=Keyword \
		AssigneeId=Keyword SlaBreached=Bool; do
		name=${attr%%=*}
		if printf '%s\n' "$existing" | grep -qw "$name"; then
			continue
		fi
		temporal operator search-attribute create --namespace "$ns" --name "$name" --type "${attr#*=}"
	done
	echo "namespace $ns ready"
}

case "${1:-}" in
schema) schema ;;
namespace) namespace ;;
*)
	echo "usage: $0 schema|namespace" >&2
	exit 1
	;;
esac
