#!/usr/bin/env bash
# The README's main command: install everything, then show gin working end to end on the
# embedded SQLite default (a fresh demo database), and on a real lab of FRR routers in
# network namespaces when the machine allows (root + Debian packages).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

export GIN_DB=${GIN_DEMO_DB:-$ROOT/demo/directory.sqlite}
export GIN_ACTOR=${GIN_ACTOR:-demo}
mkdir -p "$(dirname "$GIN_DB")"
rm -f "$GIN_DB" "$GIN_DB"-wal "$GIN_DB"-shm
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Directory on SQLite: $GIN_DB"
step "Sample data: the Office of the Prime Minister, the 20 ministries, e-Government agencies, 77 provincial halls"
gin directory samples load
gin directory agency list "กรม"
step "Addressing plan (GIN IPv6 supernet, /48 per agency, /56 per site, /127 links, IPv4 /31 transit)"
gin directory plan show
gin directory plan apply
step "Allocate: one /48 per agency for three agencies, a /56 for a site, a /64 LAN"
for a in DOPA DOAE SSO; do gin directory prefix allocate --agency "$a" --length 48 --role agency; done
gin directory prefix list --agency DOPA
step "Who owns an address? (longest-prefix match)"
addr=$(gin directory prefix list --agency DOPA --json | python3 -c 'import json,sys; p=json.load(sys.stdin)[0]["cidr"]; print(p.split("/")[0]+"1")')
gin directory whois "$addr"
step "Hostile input is refused whole: a CSV with a newline in a name and a duplicate code"
bad=$(mktemp --suffix=.csv)
printf 'kind,code,name_en,name_th\nagency,NEWA,"New\nline",\nagency,DOPA,Duplicate,\n' > "$bad"
gin directory import "$bad" || echo "(exit $? — nothing was written)"
rm -f "$bad"
step "Exports: Ansible inventory and Prometheus file_sd"
gin directory inventory --ansible | head -n 20
step "Change log"
gin directory history --limit 10

step "Lab: real FRR routers in network namespaces"
if [ "$(id -u)" = 0 ] && command -v /usr/lib/frr/zebra >/dev/null; then
    trap 'gin lab down --name demo >/dev/null 2>&1 || true' EXIT
    gin lab up --name demo
    gin lab status --name demo
    gin directory device list
    gin lab exec --name demo pe1 vtysh -c "show bgp ipv6 unicast summary"
    gin lab down --name demo
    trap - EXIT
else
    echo "skipped: the lab needs root and FRR (run this script as root on Debian: it installs them)"
fi
step "Done. Try: gin --help"
