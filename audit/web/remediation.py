"""What fixes each failing web check: the nginx and Apache httpd lines (data, not code).

Lines follow Mozilla's "intermediate" server-side TLS profile; a report shows them beside
the failure so an agency's web administrator can act on it directly.
"""

from __future__ import annotations

NGINX_CIPHERS = ("ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                 "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                 "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;")
APACHE_CIPHERS = ("SSLCipherSuite ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
RENEW = "renew the certificate (e.g. certbot renew) and reload the server"

#: check id -> server -> lines
FIXES: dict[str, dict[str, tuple[str, ...]]] = {
    "web.reachable": {
        "nginx": ("listen 443 ssl; listen [::]:443 ssl;",),
        "apache": ("Listen 443 https", "<VirtualHost *:443> SSLEngine on"),
    },
    "web.tls_protocols": {
        "nginx": ("ssl_protocols TLSv1.2 TLSv1.3;",),
        "apache": ("SSLProtocol -all +TLSv1.2 +TLSv1.3",),
    },
    "web.tls_ciphers": {
        "nginx": (NGINX_CIPHERS, "ssl_prefer_server_ciphers off;"),
        "apache": (APACHE_CIPHERS, "SSLHonorCipherOrder off"),
    },
    "web.forward_secrecy": {
        "nginx": (NGINX_CIPHERS,),
        "apache": (APACHE_CIPHERS,),
    },
    "web.cert_chain": {
        "nginx": ("ssl_certificate /etc/ssl/<site>/fullchain.pem;  # leaf + intermediates",),
        "apache": ("SSLCertificateFile /etc/ssl/<site>/fullchain.pem",),
    },
    "web.cert_hostname": {
        "nginx": ("issue a certificate whose subjectAltName lists every server_name",),
        "apache": ("issue a certificate whose subjectAltName lists ServerName and every "
                   "ServerAlias",),
    },
    "web.cert_expiry": {"nginx": (RENEW,), "apache": (RENEW,)},
    "web.cert_key": {
        "nginx": ("issue a certificate with an ECDSA P-256 or RSA 2048+ key, SHA-256 "
                  "signature",),
        "apache": ("issue a certificate with an ECDSA P-256 or RSA 2048+ key, SHA-256 "
                   "signature",),
    },
    "web.ocsp_stapling": {
        "nginx": ("ssl_stapling on;", "ssl_stapling_verify on;",
                  "ssl_trusted_certificate /etc/ssl/<site>/chain.pem;", "resolver <dns>;"),
        "apache": ("SSLUseStapling On", "SSLStaplingCache shmcb:/var/run/ocsp(128000)"),
    },
    "web.https_redirect": {
        "nginx": ("server { listen 80; listen [::]:80; return 301 https://$host$request_uri; }",),
        "apache": ("Redirect permanent / https://<host>/",),
    },
    "web.hsts": {
        "nginx": ('add_header Strict-Transport-Security "max-age=63072000" always;',),
        "apache": ('Header always set Strict-Transport-Security "max-age=63072000"',),
    },
    "web.csp": {
        "nginx": ("add_header Content-Security-Policy \"default-src 'self'; "
                  "frame-ancestors 'self'\" always;",),
        "apache": ("Header always set Content-Security-Policy \"default-src 'self'; "
                   "frame-ancestors 'self'\"",),
    },
    "web.content_type_options": {
        "nginx": ("add_header X-Content-Type-Options nosniff always;",),
        "apache": ("Header always set X-Content-Type-Options nosniff",),
    },
    "web.frame_options": {
        "nginx": ("add_header X-Frame-Options SAMEORIGIN always;",),
        "apache": ("Header always set X-Frame-Options SAMEORIGIN",),
    },
    "web.referrer_policy": {
        "nginx": ("add_header Referrer-Policy strict-origin-when-cross-origin always;",),
        "apache": ("Header always set Referrer-Policy strict-origin-when-cross-origin",),
    },
    "web.server_version": {
        "nginx": ("server_tokens off;", "fastcgi_hide_header X-Powered-By;"),
        "apache": ("ServerTokens Prod", "ServerSignature Off", "Header unset X-Powered-By"),
    },
    "web.cookies": {
        "nginx": ('proxy_cookie_flags ~ secure httponly samesite=strict;',),
        "apache": ("Header always edit Set-Cookie ^(.*)$ \"$1; Secure; HttpOnly; "
                   "SameSite=Strict\"",),
    },
    "web.ipv6_aaaa": {
        "nginx": ("publish an AAAA record for the host (same name as the A record)",),
        "apache": ("publish an AAAA record for the host (same name as the A record)",),
    },
    "web.ipv6_reachable": {
        "nginx": ("listen [::]:443 ssl;", "listen [::]:80;"),
        "apache": ("Listen [::]:443 https", "<VirtualHost [::]:443>"),
    },
    "web.ipv6_same_cert": {
        "nginx": ("serve the same ssl_certificate on the IPv6 listener (or front end)",),
        "apache": ("serve the same SSLCertificateFile in the IPv6 VirtualHost",),
    },
}
