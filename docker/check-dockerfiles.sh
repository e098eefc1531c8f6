#!/usr/bin/env bash
# Checks that the service Dockerfiles are one text but for the service's name, description
# and port. They stay three files so that each service folder remains liftable on its own; this
# keeps them from drifting apart. Usage: docker/check-dockerfiles.sh (exit 1 on a difference).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Prints <service>/Dockerfile with its name, description and port replaced by placeholders.
normalised() {
    local service=$1 port=$2
    # The prebuilt stage spells the name as a wildcard, servic[e].
    sed -e "s/${service%e}\\[e\\]/SERVICE/g" -e "s/$service/SERVICE/g" -e "s/\\b$port\\b/PORT/g" \
        -e 's/\(org\.opencontainers\.image\.description=\)"[^"]*"/\1"DESCRIPTION"/' "$service/Dockerfile"
}

status=0
for entry in product-service:5002 order-service:5003 notification-service:5004; do
    if ! diff -u <(normalised user-service 5001) <(normalised "${entry%:*}" "${entry#*:}") \
        --label user-service/Dockerfile --label "${entry%:*}/Dockerfile"; then
        status=1
    fi
done
[[ $status -eq 0 ]] && echo "service Dockerfiles: identical but for name, description and port"
exit "$status"
