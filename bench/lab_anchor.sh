#!/bin/bash
# Anchor for bench/lab_bringup.py: the same lab (2 PEs with OSPFv3 + iBGP on a core link,
# N-2 bare CEs hanging off the PEs, per router: zebra staticd bgpd ospf6d + sshd + snmpd,
# management veth on a bridge) built by one plain serial shell script, the way one would
# without gin: one command after the other, waiting for each daemon.
#
# usage: lab_anchor.sh up N DIR     (prefix "anc"; DIR must be searchable by user frr)
#        lab_anchor.sh down N DIR
set -eu
ACTION=$1 N=$2 DIR=$3
P=anc
BR=$P-br
ULA=fd00:a5c:1
FRR=/usr/lib/frr

node_name() { if [ "$1" -lt 2 ]; then echo "pe$(($1 + 1))"; else echo "ce$(($1 - 1))"; fi; }

start_in_ns() {  # ns hostname argv...
    local ns=$1 host=$2; shift 2
    ip netns exec "$ns" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$host" "$@"
}

wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }

up() {
    mkdir -p "$DIR/secrets" /run/sshd
    chmod 755 "$DIR"
    ssh-keygen -q -t ed25519 -N '' -f "$DIR/secrets/id_ed25519"
    cp "$DIR/secrets/id_ed25519.pub" "$DIR/secrets/authorized_keys"
    AUTH=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    PRIV=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    ip link add $BR type bridge
    ip link set $BR up
    ip addr add $ULA::1/64 dev $BR nodad
    port=42000
    for i in $(seq 0 $((N - 1))); do
        name=$(node_name "$i") ns=$P-$(node_name "$i") d=$DIR/$(node_name "$i")
        ip netns add "$ns"
        ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.forwarding=1
        ip link add name $P-${i}m type veth peer name $P-$i-0 netns "$ns"
        ip link set $P-${i}m master $BR up
        ip -n "$ns" link set lo up
        ip -n "$ns" link set $P-$i-0 up
        ip -n "$ns" addr add $ULA::$((256 + i))/64 dev $P-$i-0 nodad
        mkdir -p "$d/etc" "$d/run" "$d/log" "$d/snmp"
        echo "hostname $name" > "$d/etc/zebra.conf"
        echo "hostname $name" > "$d/etc/staticd.conf"
        echo "hostname $name" > "$d/etc/bgpd.conf"
        echo "hostname $name" > "$d/etc/ospf6d.conf"
        printf 'service integrated-vtysh-config\nhostname %s\n' "$name" > "$d/etc/vtysh.conf"
    done
    # cables: pe1-pe2 core, CEs alternately on pe1/pe2
    ip link add name $P-0-1 netns $P-pe1 type veth peer name $P-1-1 netns $P-pe2
    ip -n $P-pe1 link set $P-0-1 up
    ip -n $P-pe2 link set $P-1-1 up
    pe_port_0=2 pe_port_1=2
    for i in $(seq 2 $((N - 1))); do
        pe=$(((i - 2) % 2))
        eval "pp=\$pe_port_$pe"
        ip link add name $P-$pe-$pp netns $P-pe$((pe + 1)) type veth peer name $P-$i-1 \
            netns $P-$(node_name "$i")
        ip -n $P-pe$((pe + 1)) link set $P-$pe-$pp up
        ip -n $P-$(node_name "$i") link set $P-$i-1 up
        eval "pe_port_$pe=$((pp + 1))"
    done
    for pe in 1 2; do
        other=$((3 - pe)) d=$DIR/pe$pe
        cat >> "$d/etc/zebra.conf" <<EOF
interface lo
 ipv6 address 2001:db8:0:ffff::$pe/128
EOF
        cat >> "$d/etc/ospf6d.conf" <<EOF
interface $P-$((pe - 1))-1
 ipv6 ospf6 area 0.0.0.0
 ipv6 ospf6 network point-to-point
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 4
interface lo
 ipv6 ospf6 area 0.0.0.0
 ipv6 ospf6 passive
router ospf6
 ospf6 router-id 10.255.0.$pe
EOF
        cat >> "$d/etc/bgpd.conf" <<EOF
router bgp 65000
 bgp router-id 10.255.0.$pe
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor 2001:db8:0:ffff::$other remote-as internal
 neighbor 2001:db8:0:ffff::$other update-source lo
 neighbor 2001:db8:0:ffff::$other timers connect 2
 address-family ipv6 unicast
  network 2001:db8:0:ffff::$pe/128
  neighbor 2001:db8:0:ffff::$other activate
 exit-address-family
EOF
    done
    for i in $(seq 0 $((N - 1))); do
        name=$(node_name "$i") ns=$P-$(node_name "$i") d=$DIR/$(node_name "$i")
        chown -R frr:frr "$d/etc" "$d/run" "$d/log"
        chgrp frrvty "$d/run"
        chmod 775 "$d/run"
        chmod 755 "$d"
        for daemon in zebra staticd bgpd ospf6d; do
            start_in_ns "$ns" "$name" $FRR/$daemon -d -f "$d/etc/$daemon.conf" \
                -i "$d/run/$daemon.pid" -z "$d/run/zserv.api" --vty_socket "$d/run" -P 0 \
                -u frr -g frr --limit-fds 1024 --log "file:$d/log/$daemon.log"
            if [ $daemon = zebra ]; then wait_file "$d/run/zserv.api"; fi
        done
        ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key"
        cat > "$d/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $d/ssh_host_ed25519_key
PidFile $d/run/sshd.pid
AuthorizedKeysFile $DIR/secrets/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
StrictModes no
ForceCommand /usr/bin/vtysh --vty_socket $d/run --config_dir $d/etc
EOF
        /usr/sbin/sshd -f "$d/sshd_config" -E "$d/log/sshd.log"
        port=$((port + 1))
        cat > "$d/snmpd.conf" <<EOF
[snmp] persistentDir $d/snmp
agentaddress udp6:[$ULA::$((256 + i))]:161
createUser ginlab SHA "$AUTH" AES "$PRIV"
rouser ginlab priv
EOF
        chmod 600 "$d/snmpd.conf"
        start_in_ns "$ns" "$name" env MIBS= /usr/sbin/snmpd -C -c "$d/snmpd.conf" \
            -p "$d/run/snmpd.pid" -Lf "$d/log/snmpd.log"
        wait_file "$d/run/sshd.pid"
        wait_file "$d/run/snmpd.pid"
    done
}

down() {
    for i in $(seq 0 $((N - 1))); do
        d=$DIR/$(node_name "$i")
        for daemon in snmpd sshd ospf6d bgpd staticd zebra; do
            pid=$(cat "$d/run/$daemon.pid" 2>/dev/null) || continue
            kill "$pid" 2>/dev/null || continue
            while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
        done
        ip netns del $P-$(node_name "$i")
    done
    ip link del $BR 2>/dev/null || true
    rm -rf "$DIR"
}

"$ACTION"
