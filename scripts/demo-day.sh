#!/usr/bin/env bash
# One day in the GIN, as its users type it: an engineer imports two agencies and provisions
# their links and a VPN tunnel between their gateways; the SOC runs the agent, a threat sensor
# on MOE's LAN, Prometheus and Alertmanager, sees MOF's h1 attack MOE's h2, blocks it and
# lifts the block; a spare cable is cut and GinLinkDown fires; the auditor backs up, checks
# and reports; the change log says who did what.  Runs on its own (as root) or from demo.sh;
# the lab and every background process go away on any exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"   # cd to the checkout, ROOT, the venv

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '$ %s\n' "$*"; "$@"; }   # show the command as the user types it, then run it
say_tail() { local n=$1; shift; printf '$ %s | tail -n %s\n' "$*" "$n"; "$@" | tail -n "$n"; }

step "One day in the GIN: links, a VPN tunnel, monitoring, an attack, a cut cable, an audit"
for need in /usr/lib/frr/zebra /usr/bin/prometheus /usr/bin/promtool \
            /usr/bin/prometheus-alertmanager /usr/lib/ipsec/charon; do
    if [ "$(id -u)" != 0 ] || [ ! -x "$need" ]; then
        echo "skipped: the day needs root, FRR, strongSwan, Prometheus and Alertmanager" \
             "(run scripts/demo.sh as root on Debian: it installs them)"
        exit 0
    fi
done

LAB=${GIN_DEMO_DAY_LAB:-demoday}   # 1-8 chars a-z0-9: prefixes the lab's namespaces
OUT=${GIN_DEMO_OUT:-$ROOT/demo}    # the day's report lands here, its scratch files in day/
WORK=$OUT/day
export GIN_DB=$WORK/directory.sqlite GIN_BACKUP_DIR=$WORK/backups GIN_VPN_KEY_FILE=$WORK/vpn.key
unset GIN_ACTOR GIN_VPN_KEY
PY=$ROOT/.venv/bin/python
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    gin lab down --name "$LAB" >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# poll SECONDS CMD...: run CMD every 2 s until it succeeds; fails after SECONDS
poll() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ "$SECONDS" -lt "$end" ] || return 1; sleep 2; done
}
reach() { gin lab exec --name "$LAB" "$1" ping -6 -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1; }
cut() { ! reach "$1" "$2"; }
# port NODE PEER: NODE's interface towards PEER
port() { gin lab status --name "$LAB" --json | "$PY" -c "
import json,sys
node=[n for n in json.load(sys.stdin)['nodes'] if n['name']=='$1'][0]
print([i['name'] for i in node['interfaces'] if i['peer'].split(':')[0]=='$2'][0])"; }
node_field() { gin lab status --name "$LAB" --json | "$PY" -c "
import json,sys
print([n for n in json.load(sys.stdin)['nodes'] if n['name']=='$1'][0]['$2'])"; }
# prom EXPR: 0 when the instant query returns at least one series (printed)
prom() { local out; out=$(curl -sfG "http://127.0.0.1:$PROM/api/v1/query" --data-urlencode "query=$1") \
    || return 1; "$PY" -c "
import json,sys
r=json.loads(sys.argv[1])['data']['result']
for x in r: print('  ', x['metric'], x['value'][1])
sys.exit(0 if r else 1)" "$out"; }
# alert NAME: 0 when Alertmanager holds NAME firing (printed with its agency and summary)
alert() { local out; out=$(curl -sf "http://127.0.0.1:$AM/api/v2/alerts?active=true") || return 1
    "$PY" -c "
import json,sys
got=[a for a in json.loads(sys.argv[1]) if a['labels']['alertname']=='$1']
for a in got:
    l=a['labels']; n=a['annotations']
    print(f\"  FIRING {l['alertname']} severity={l.get('severity')} agency={l.get('agency')}: \"
          f\"{n.get('summary') or n.get('description')}\")
sys.exit(0 if got else 1)" "$out"; }

step "Engineer: two agencies from a CSV"
printf 'code,name_en,kind\nMOF,Ministry of Finance,ministry\nMOE,Ministry of Education,ministry\n' \
    > "$WORK/agencies.csv"
cat "$WORK/agencies.csv"
say gin --actor engineer directory import "$WORK/agencies.csv"

step "The day's routers (a lab of FRR routers in namespaces, registered in the directory)"
say gin --actor engineer lab up "$ROOT/gin/lab/topologies/day.yaml" --name "$LAB"

step "Engineer: addressing plan, the agencies' /48s, plan and provision both links"
gin --actor engineer directory plan apply >/dev/null
say gin --actor engineer directory prefix add 2001:db8:1001::/48 --agency MOF --role agency
say gin --actor engineer directory prefix add 2001:db8:1002::/48 --agency MOE --role agency
say gin --actor engineer link plan MOF --site "$(node_field ce1 site)" --pe "pe1:$(port pe1 ce1)" \
    --ce "ce1:$(port ce1 pe1)" --lan "$(port ce1 h1)" --name mof-ce1
say gin --actor engineer link plan MOE --site "$(node_field ce2 site)" --pe "pe2:$(port pe2 ce2)" \
    --ce "ce2:$(port ce2 pe2)" --lan "$(port ce2 h2)" --name moe-ce2
say gin --actor engineer link provision mof-ce1 moe-ce2 --no-ping
poll 90 reach h1 2001:db8:1002::10 || { echo "FAILED: h1 (MOF) does not reach h2 (MOE)"; exit 1; }
say gin lab exec --name "$LAB" h1 ping -6 -c 2 2001:db8:1002::10

step "Engineer: a VPN tunnel between MOF's gateway gwa and MOE's gwb"
say gin --actor engineer vpn key init
say gin --actor engineer vpn ca init
say gin --actor engineer vpn cert issue gwa
say gin --actor engineer vpn cert issue gwb
say gin --actor engineer vpn create gwa gwb --type ikev2 --auth cert --name mof-moe
say gin --actor engineer vpn deploy mof-moe
poll 60 reach ha 2001:db8:1002:b::10 || { echo "FAILED: ha does not reach hb through the tunnel"; exit 1; }
say gin lab exec --name "$LAB" ha ping -6 -c 3 2001:db8:1002:b::10
say gin vpn status mof-moe

step "SOC: a threat sensor on MOE's LAN, the agent, Prometheus and Alertmanager"
AGENT=$(free_port) SENSOR=$(free_port) AM=$(free_port) PROM=$(free_port)
SENSOR_HOST=$(node_field ce2 mgmt_address); SENSOR_HOST=${SENSOR_HOST%%/*}
say gin --actor soc directory device add ids-moe --agency MOE --site "$(node_field ce2 site)" \
    --role sensor --platform linux --mgmt-address "$SENSOR_HOST"
say gin --actor soc monitor prometheus-config --out "$WORK/prom" --agent "local=127.0.0.1:$AGENT" \
    --sensor-port "$SENSOR" --scrape-interval 10s --alertmanager "127.0.0.1:$AM" \
    --webhook "http://127.0.0.1:$(free_port)/gin"   # the SOC reads Alertmanager's API below
gin --actor soc monitor agent --listen "127.0.0.1:$AGENT" --interval 5 \
    >"$WORK/agent.log" 2>&1 & pids+=($!)
ip netns exec "$(node_field ce2 netns)" gin --actor soc monitor sensor run \
    --interface "$(port ce2 h2)" --listen "[$SENSOR_HOST]:$SENSOR" --agency MOE \
    >"$WORK/sensor.log" 2>&1 & pids+=($!)
/usr/bin/prometheus-alertmanager --config.file="$WORK/prom/alertmanager.yml" \
    --storage.path="$WORK/am" --web.listen-address="127.0.0.1:$AM" --cluster.listen-address= \
    >"$WORK/alertmanager.log" 2>&1 & pids+=($!)
/usr/bin/prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
    --web.listen-address="127.0.0.1:$PROM" >"$WORK/prometheus.log" 2>&1 & pids+=($!)
echo "agent :$AGENT, sensor [$SENSOR_HOST]:$SENSOR, Prometheus :$PROM, Alertmanager :$AM (logs in $WORK)"
poll 150 prom 'count(max_over_time(gin_snmp_up[2m]) == 1) >= 5' >/dev/null \
    || { echo "FAILED: Prometheus does not see the routers (see $WORK/agent.log)"; exit 1; }
poll 90 prom 'up{job="gin-sensor",sensor="ids-moe"} == 1' \
    || { echo "FAILED: Prometheus does not scrape the sensor (see $WORK/sensor.log)"; exit 1; }
echo "Prometheus scrapes every router (through the agent) and the sensor"

step "Mid-morning: MOE's spare uplink cable (ce2 to pe1) is cut"
UPLINK=$(port ce2 pe1)
say gin lab exec --name "$LAB" pe1 ip link set "$(port pe1 ce2)" down
cut_at=$SECONDS

step "MOF's h1 port-scans and SSH-brute-forces MOE's h2"
cat > "$WORK/attack.py" <<'EOF'
import socket, sys
target = sys.argv[1]
def knock(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(1)
    s.connect_ex((target, port))
    s.close()
for port in range(1, 151):          # a port scan: 150 distinct ports
    knock(port)
for _ in range(40):                 # an SSH brute force: 40 attempts
    knock(22)
EOF
say gin lab exec --name "$LAB" h1 python3 "$WORK/attack.py" 2001:db8:1002::10
echo "the sensor's events, as Prometheus has them:"
poll 90 prom 'gin_threat_events_total{type=~"port_scan|brute_force"}' \
    || { echo "FAILED: no threat events at Prometheus"; exit 1; }
echo "the SOC's queue (Alertmanager):"
poll 180 alert GinHighThreatEvent || { echo "FAILED: GinHighThreatEvent never fired"; exit 1; }

step "SOC: block h1 at the edge routers; no traffic either way; lift; restored"
say gin --actor soc monitor respond --no-gateway --block 2001:db8:1001::10 --ttl 600 \
    --reason "port scan and SSH brute force on MOE"
if cut h1 2001:db8:1002::10 && cut h2 2001:db8:1001::10; then
    echo "h1 -> h2: cut; h2 -> h1: cut"
else
    echo "FAILED: traffic still flows with the block in place"; exit 1
fi
say gin --actor soc monitor respond --no-gateway --lift 2001:db8:1001::10
poll 60 reach h1 2001:db8:1002::10 && poll 60 reach h2 2001:db8:1001::10 \
    || { echo "FAILED: traffic not restored after the lift"; exit 1; }
echo "h1 -> h2: restored; h2 -> h1: restored"

step "Auditor: back up the routers, check them (with Prometheus' evidence), write the report"
poll 60 prom "gin_if_oper_up{device=\"ce2\",ifname=\"$UPLINK\"} == 0" >/dev/null || true
say gin --actor auditor audit backup pe1 pe2 ce1 ce2
say_tail 12 gin --actor auditor audit check --prometheus "http://127.0.0.1:$PROM"
say gin --actor auditor audit report --run latest --format html --all-findings -o "$OUT/day-report.html"

step "SOC's pager: GinLinkDown for MOE's cut cable (fires 2 minutes after the cut)"
left=$((cut_at + 240 - SECONDS)); [ "$left" -gt 10 ] || left=10
if poll "$left" alert GinLinkDown; then :; else
    echo "GinLinkDown still pending ($((SECONDS - cut_at)) s since the cut; it fires after 2 minutes down)"
fi

step "The change log: who did what today"
say gin directory history --limit 15

step "One day in the GIN: done"
