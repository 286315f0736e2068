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
addr=$(gin directory prefix list --agency DOPA --json | python3 -c 'import json,sys; p=json.load(sys.stdin)[0]["prefix"]; print(p.split("/")[0]+"1")')
gin directory whois "$addr"
step "Hostile input is refused whole: a CSV with a newline in a name and a duplicate code"
bad=$(mktemp -d)/agencies.csv
printf 'code,name_en,name_th\nNEWA,"New\nline",\nDOPA,Duplicate,\n' > "$bad"
gin directory import "$bad" || echo "(exit $? — nothing was written)"
rm -rf "$(dirname "$bad")"
step "Exports: Ansible inventory and Prometheus file_sd"
gin directory inventory --ansible | head -n 20
step "Change log"
gin directory history --limit 10

step "The shared service: gin serve on this directory, one user per role, each one allowed and one refused action"
# GIN_DEMO_KEEP_SERVING=1 leaves it running afterwards and prints who to log in as.
keep=${GIN_DEMO_KEEP_SERVING:-0}
serve_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
serve_url="http://127.0.0.1:$serve_port"
serve_log=$(dirname "$GIN_DB")/serve.log
declare -A demo_token demo_password
demo_user() {  # NAME ROLE [--agency CODE]: a user with the role, and a one-day token
    local name=$1 role=$2; shift 2
    if [ "$keep" = 1 ]; then
        demo_password[$name]=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
        printf '%s\n' "${demo_password[$name]}" | gin user add "$name" --role "$role" "$@" --password-stdin >/dev/null
    else
        gin user add "$name" --role "$role" "$@" --no-password >/dev/null   # token-only
    fi
    demo_token[$name]=$(gin user token create "$name" demo --days 1 2>/dev/null)
}
demo_user demo-admin admin
demo_user demo-engineer engineer
demo_user demo-soc soc
demo_user demo-auditor auditor
demo_user demo-viewer viewer
demo_user demo-dopa engineer --agency DOPA
demo_token[demo-admin-ro]=$(gin user token create demo-admin demo-ro --days 1 --read-only 2>/dev/null)
gin user list
gin serve --listen "127.0.0.1:$serve_port" --no-gsi-gateway --gsi-routers-via none >"$serve_log" 2>&1 &
serve_pid=$!
[ "$keep" = 1 ] || trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf "$serve_url/api/v1/health" >/dev/null && break; sleep 0.5; done
curl -sf "$serve_url/api/v1/health" >/dev/null || { echo "gin serve did not start:"; cat "$serve_log"; exit 1; }
api() {  # WHO METHOD PATH [JSON]: one call as WHO, one outcome line
    local who=$1 method=$2 path=$3 body=${4:-} code detail out
    out=$(mktemp)
    code=$(curl -s -o "$out" -w '%{http_code}' -X "$method" -H "Authorization: Bearer ${demo_token[$who]}" \
        ${body:+-H 'Content-Type: application/json' --data "$body"} "$serve_url/api/v1$path")
    detail=$(python3 -c 'import json,sys
try: d=json.load(open(sys.argv[1]))
except Exception: d={}
print(d.get("detail","") if isinstance(d,dict) else "")' "$out")
    rm -f "$out"
    case $code in 2??) verdict=allowed ;; 401|403) verdict=refused ;; *) verdict="answered $code" ;; esac
    printf '%-14s %-6s %-44s -> %s %s%s\n' "$who" "$method" "$path" "$code" "$verdict" "${detail:+ ($detail)}"
}
api demo-admin    GET   /users
api demo-admin-ro POST  /prefixes/allocate '{"agency": "DOAE", "length": 64}'
api demo-engineer POST  /prefixes/allocate '{"agency": "DOAE", "length": 64}'
api demo-engineer GET   /users
api demo-soc      GET   /gsi/blocks
api demo-soc      PATCH /agencies/DOPA '{"description": "changed by the SOC"}'
api demo-auditor  GET   /changes/verify
api demo-auditor  POST  /prefixes/allocate '{"agency": "SSO", "length": 64}'
api demo-viewer   GET   "/whois/$addr"
api demo-viewer   GET   /changes
api demo-dopa     POST  /prefixes/allocate '{"agency": "DOPA", "length": 64}'
api demo-dopa     POST  /prefixes/allocate '{"agency": "SSO", "length": 64}'
gin directory history --limit 4   # the API's changes are logged under the authenticated user
echo "each role's view of the console ($serve_url/ui/), as the browser tests see it:"
for shot in login-en search-admin-en agency-live-en agency-viewer-th soc-soc-en soc-auditor-en \
            map-soc-th audit-auditor-en audit-finding-auditor-th engineer-link-eng_dopa-en; do
    printf '  %s\n' "$ROOT/docs/screenshots/$shot.jpeg"
done
if [ "$keep" = 1 ]; then
    echo "gin serve keeps running at $serve_url (console: $serve_url/ui/; stop it: kill $serve_pid)"
    echo "log in as (one-time demo passwords):"
    for name in demo-admin demo-engineer demo-soc demo-auditor demo-viewer demo-dopa; do
        printf '  %-14s %s\n' "$name" "${demo_password[$name]}"
    done
else
    kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
    trap - EXIT
    echo "gin serve stopped (GIN_DEMO_KEEP_SERVING=1 leaves it running, with passwords to log in)"
fi

step "Lab: real FRR routers in network namespaces, provisioned through gin"
if [ "$(id -u)" = 0 ] && [ -x /usr/lib/frr/zebra ]; then
    export GIN_DB=$ROOT/demo/lab.sqlite
    rm -f "$GIN_DB" "$GIN_DB"-wal "$GIN_DB"-shm
    trap 'gin lab down --name demo >/dev/null 2>&1 || true' EXIT
    gin lab up --name demo
    gin lab status --name demo
    gin directory plan apply >/dev/null
    # The lab's agency LAN hosts sit in 2001:db8:100N::/64: give each agency that /48.
    gin directory prefix add 2001:db8:1001::/48 --agency MOF --role agency >/dev/null
    gin directory prefix add 2001:db8:1003::/48 --agency MOPH --role agency >/dev/null
    port() { gin lab status --name demo --json | python3 -c "
import json,sys
lab=json.load(sys.stdin)
node=[n for n in lab['nodes'] if n['name']=='$1'][0]
print([i['name'] for i in node['interfaces'] if i['peer'].split(':')[0]=='$2'][0])"; }
    gin link plan MOF --site MOF-HQ --pe "pe1:$(port pe1 ce1)" --ce "ce1:$(port ce1 pe1)" --lan "$(port ce1 h1)"
    gin link plan MOPH --site MOPH-HQ --pe "pe1:$(port pe1 ce3)" --ce "ce3:$(port ce3 pe1)" --lan "$(port ce3 h3)"
    gin link render mof-ce1 --device ce1 | head -n 30
    gin link provision mof-ce1 moph-ce3 --dry-run | tail -n 8
    gin link provision mof-ce1 moph-ce3
    step "Agency LAN to agency LAN through the GIN: h1 (MOF) -> h3 (MOPH)"
    gin lab exec --name demo h1 ping -6 -c 3 2001:db8:1003::10
    step "Second run: nothing to change"
    gin link provision mof-ce1 moph-ce3
    gin directory history --limit 8
    step "Auditor: back up the routers' configs, check them against ISO/IEC 17799, write the reports"
    export GIN_BACKUP_DIR=$ROOT/demo/backups
    export GIN_WEB_EVIDENCE_DIR=$ROOT/demo/web
    rm -rf "$GIN_BACKUP_DIR" "$GIN_WEB_EVIDENCE_DIR"
    gin audit backup --host-files   # running configs and the routers' /etc files (sshd, snmpd, ...)
    gin audit check
    gin audit report --agency MOF --format html -o "$ROOT/demo/posture-mof.html"
    gin audit report --format oscal -o "$ROOT/demo/posture.oscal.json"
    gin lab down --name demo
    trap - EXIT

    step "VPN: two agency gateways (strongSwan + WireGuard), a certificate tunnel and a WireGuard tunnel"
    export GIN_DB=$ROOT/demo/vpn.sqlite GIN_VPN_KEY_FILE=$ROOT/demo/vpn.key
    rm -f "$GIN_DB" "$GIN_DB"-wal "$GIN_DB"-shm "$GIN_VPN_KEY_FILE"
    trap 'gin lab down --name demovpn >/dev/null 2>&1 || true' EXIT
    gin lab up "$ROOT/gin/lab/topologies/vpn.yaml" --name demovpn
    gin directory prefix add 2001:db8:a::/48 --agency MOF --role agency >/dev/null
    gin directory prefix add 2001:db8:b::/48 --agency MOPH --role agency >/dev/null
    gin vpn key init
    gin vpn ca init >/dev/null
    gin vpn cert issue gwa >/dev/null
    gin vpn cert issue gwb >/dev/null
    gin vpn cert list
    gin vpn create gwa gwb --type ikev2 --auth cert --name mof-moph-ike >/dev/null
    gin vpn create gwa gwb --type wireguard --name mof-moph-wg >/dev/null
    gin vpn render mof-moph-ike | head -n 25
    gin vpn deploy mof-moph-ike mof-moph-wg
    gin lab exec --name demovpn ha ping -6 -c 3 2001:db8:b::10
    gin vpn status
    step "Rotate the WireGuard keys: the new ones go live only when the deploy succeeds"
    gin vpn rotate mof-moph-wg >/dev/null
    gin vpn deploy mof-moph-wg
    gin vpn status mof-moph-wg
    step "Auditor: the tunnels' crypto and certificates in the posture findings"
    gin audit check --backup-dir "$ROOT/demo/vpn-backups"   # no backups of the gateways: unknown, never pass
    gin lab down --name demovpn
    trap - EXIT

    step "One day in the GIN: engineer, SOC and auditor on one lab, with Prometheus and Alertmanager"
    bash "$ROOT/scripts/demo-day.sh"
else
    echo "skipped: the lab needs root and FRR (run this script as root on Debian: it installs them)"
fi
step "Done. Try: gin --help"
