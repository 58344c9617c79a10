# ruff: noqa: E501  (log lines are data; wrapping them would hide what they look like)
"""A second, untuned set of corpora: written after the grouping rules, and never tuned on.

As in Loghub's corrected OpenStack templates, the HTTP method of a request line is a constant
(`"GET <*>"` and `"POST <*>"` are two events); everything else filled in at run time is `<*>`.

`generality_corpora.py` guided the general fixes (pipes, word keys, identifier-like values, value
vocabulary), so its scores are optimistic. These corpora (web server, Go service logfmt, Postgres,
a Spring service, systemd) measure the same rules on events they were not written for. Labels
follow the same convention: every value filled in at run time is `<*>`.
"""

from __future__ import annotations

from generality_corpora import Event, hexs, ip, pick, port, word

_PATHS = ("/api/v1/orders", "/api/v1/users/me", "/static/app.js", "/healthz", "/login", "/api/v2/cart/items")
_UPSTREAMS = ("orders-svc", "users-svc", "cart-svc")


def _nginx(method: str) -> list[Event]:
    m = method
    return [
        (
            f'<*> [error] <*>: <*> upstream timed out (110: Connection timed out) while reading response header from upstream, client: <*>, server: <*>, request: "{m} <*> HTTP/1.1", upstream: "<*>", host: "<*>"',
            10,
            lambda r: (
                f'{r.randint(1000, 9999)}#{r.randint(0, 9)}: *{r.randint(10**4, 10**7)} [error] upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip(r)}, server: shop.example.com, request: "{m} {r.choice(_PATHS)} HTTP/1.1", upstream: "http://{ip(r)}:{r.choice([8080, 8081])}{r.choice(_PATHS)}", host: "shop.example.com"'
            ),
        ),
        (
            f'connect() failed (111: Connection refused) while connecting to upstream, client: <*>, server: <*>, request: "{m} <*> HTTP/1.1", upstream: "<*>"',
            6,
            lambda r: (
                f'connect() failed (111: Connection refused) while connecting to upstream, client: {ip(r)}, server: shop.example.com, request: "{m} {r.choice(_PATHS)} HTTP/1.1", upstream: "http://{ip(r)}:8080{r.choice(_PATHS)}"'
            ),
        ),
        (
            f'limiting requests, excess: <*> by zone "<*>", client: <*>, server: <*>, request: "{m} <*> HTTP/1.1"',
            5,
            lambda r: (
                f'limiting requests, excess: {r.randint(1, 30)}.{r.randint(0, 999):03d} by zone "{pick(r, "perip", "login")}", client: {ip(r)}, server: shop.example.com, request: "{m} {r.choice(_PATHS)} HTTP/1.1"'
            ),
        ),
        (
            f'no live upstreams while connecting to upstream, client: <*>, server: <*>, request: "{m} <*> HTTP/1.1", upstream: "<*>"',
            2,
            lambda r: (
                f'no live upstreams while connecting to upstream, client: {ip(r)}, server: shop.example.com, request: "{m} {r.choice(_PATHS)} HTTP/1.1", upstream: "http://{r.choice(_UPSTREAMS)}{r.choice(_PATHS)}"'
            ),
        ),
    ]


NGINX: list[Event] = [
    *_nginx("GET"),
    *_nginx("POST"),
    (
        'open() "<*>" failed (2: No such file or directory), client: <*>, server: <*>, request: "GET <*> HTTP/1.1"',
        15,
        lambda r: (
            f'open() "/var/www/html/{word(r, 5)}.{pick(r, "png", "ico", "php")}" failed (2: No such file or directory), client: {ip(r)}, server: shop.example.com, request: "GET /{word(r, 5)} HTTP/1.1"'
        ),
    ),
    (
        'client intended to send too large body: <*> bytes, client: <*>, server: <*>, request: "POST <*> HTTP/1.1"',
        4,
        lambda r: (
            f'client intended to send too large body: {r.randint(10**6, 10**8)} bytes, client: {ip(r)}, server: shop.example.com, request: "POST {r.choice(_PATHS)} HTTP/1.1"'
        ),
    ),
    (
        "SSL_do_handshake() failed (SSL: error:<*>:SSL routines:<*>:<*>) while SSL handshaking, client: <*>, server: <*>",
        5,
        lambda r: (
            f"SSL_do_handshake() failed (SSL: error:{pick(r, '141CF06C', '1417A0C1')}:SSL routines:{pick(r, 'tls_parse_ctos_key_share', 'tls_post_process_client_hello')}:{pick(r, 'bad key share', 'no shared cipher')}) while SSL handshaking, client: {ip(r)}, server: 0.0.0.0:443"
        ),
    ),
    (
        "worker process <*> exited on signal <*>",
        2,
        lambda r: f"worker process {r.randint(1000, 40000)} exited on signal {pick(r, '9', '11')}",
    ),
    ("signal process started", 2, lambda r: "signal process started"),
    (
        'using inherited sockets from "<*>"',
        1,
        lambda r: f'using inherited sockets from "{r.randint(5, 9)};{r.randint(5, 9)};"',
    ),
]


def trace_id(r) -> str:  # type: ignore[no-untyped-def]
    return hexs(r, 32)


GO_SERVICE: list[Event] = [
    (
        'level=info msg="request served" method=<*> path=<*> status=<*> duration=<*> trace_id=<*>',
        30,
        lambda r: (
            f'level=info msg="request served" method={pick(r, "GET", "POST", "PUT", "DELETE")} path={r.choice(_PATHS)} status={pick(r, "200", "201", "204", "404")} duration={r.randint(1, 900)}ms trace_id={trace_id(r)}'
        ),
    ),
    (
        'level=error msg="upstream call failed" upstream=<*> err="<*>" attempt=<*> trace_id=<*>',
        14,
        lambda r: (
            f'level=error msg="upstream call failed" upstream={r.choice(_UPSTREAMS)} err="{pick(r, "context deadline exceeded", "connection reset by peer", "EOF")}" attempt={r.randint(1, 3)} trace_id={trace_id(r)}'
        ),
    ),
    (
        'level=warn msg="slow query" table=<*> rows=<*> elapsed=<*>',
        10,
        lambda r: (
            f'level=warn msg="slow query" table={pick(r, "orders", "users", "carts", "payments")} rows={r.randint(1, 10**5)} elapsed={r.uniform(0.5, 9):.3f}s'
        ),
    ),
    (
        'level=info msg="cache refreshed" entries=<*> took=<*>',
        6,
        lambda r: f'level=info msg="cache refreshed" entries={r.randint(100, 9000)} took={r.randint(5, 900)}ms',
    ),
    (
        'level=error msg="payment declined" customer=<*> amount=<*> currency=<*> reason=<*>',
        6,
        lambda r: (
            f'level=error msg="payment declined" customer=cus_{hexs(r, 14)} amount={r.randint(100, 99999)} currency={pick(r, "EUR", "USD", "GBP")} reason={pick(r, "insufficient_funds", "card_declined", "expired_card")}'
        ),
    ),
    (
        'level=info msg="leader elected" node=<*> term=<*>',
        2,
        lambda r: f'level=info msg="leader elected" node=node-{r.randint(0, 4)} term={r.randint(1, 90)}',
    ),
    (
        'level=warn msg="retrying" op=<*> backoff=<*>',
        5,
        lambda r: f'level=warn msg="retrying" op={pick(r, "publish", "ack", "fetch")} backoff={r.randint(100, 5000)}ms',
    ),
    (
        'level=info msg="shutting down" signal=<*>',
        1,
        lambda r: f'level=info msg="shutting down" signal={pick(r, "SIGTERM", "SIGINT")}',
    ),
]

POSTGRES: list[Event] = [
    (
        "duration: <*> ms statement: SELECT * FROM <*> WHERE id = <*>",
        20,
        lambda r: (
            f"duration: {r.uniform(1, 5000):.3f} ms  statement: SELECT * FROM {pick(r, 'orders', 'users', 'carts')} WHERE id = {r.randint(1, 10**6)}"
        ),
    ),
    (
        "could not serialize access due to concurrent update",
        8,
        lambda r: "could not serialize access due to concurrent update",
    ),
    (
        'duplicate key value violates unique constraint "<*>"',
        10,
        lambda r: (
            f'duplicate key value violates unique constraint "{pick(r, "users_email_key", "orders_pkey", "carts_user_id_key")}"'
        ),
    ),
    (
        "Key (<*>)=(<*>) already exists.",
        10,
        lambda r: f"Key ({pick(r, 'email', 'id')})=({word(r, 6)}@example.com) already exists.",
    ),
    (
        "connection received: host=<*> port=<*>",
        12,
        lambda r: f"connection received: host={ip(r)} port={port(r)}",
    ),
    (
        "connection authorized: user=<*> database=<*> application_name=<*>",
        12,
        lambda r: (
            f"connection authorized: user={pick(r, 'app', 'readonly', 'admin')} database={pick(r, 'shop', 'analytics')} application_name={pick(r, 'psql', 'pgbouncer', 'orders-svc')}"
        ),
    ),
    (
        "disconnection: session time: <*> user=<*> database=<*> host=<*> port=<*>",
        10,
        lambda r: (
            f"disconnection: session time: 0:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d} user={pick(r, 'app', 'readonly', 'admin')} database={pick(r, 'shop', 'analytics')} host={ip(r)} port={port(r)}"
        ),
    ),
    ("checkpoint starting: <*>", 3, lambda r: f"checkpoint starting: {pick(r, 'time', 'wal', 'shutdown immediate')}"),
    (
        "checkpoint complete: wrote <*> buffers (<*>); <*> WAL file(s) added, <*> removed, <*> recycled; write=<*> s, sync=<*> s, total=<*> s",
        3,
        lambda r: (
            f"checkpoint complete: wrote {r.randint(1, 9000)} buffers ({r.uniform(0, 9):.1f}%); 0 WAL file(s) added, {r.randint(0, 3)} removed, {r.randint(0, 3)} recycled; write={r.uniform(0, 300):.3f} s, sync={r.uniform(0, 1):.3f} s, total={r.uniform(0, 300):.3f} s"
        ),
    ),
    (
        'automatic vacuum of table "<*>": index scans: <*>',
        4,
        lambda r: (
            f'automatic vacuum of table "shop.public.{pick(r, "orders", "users", "carts", "payments")}": index scans: {r.randint(0, 2)}'
        ),
    ),
    (
        "terminating connection due to idle-in-transaction timeout",
        2,
        lambda r: "terminating connection due to idle-in-transaction timeout",
    ),
    (
        'relation "<*>" does not exist at character <*>',
        3,
        lambda r: (
            f'relation "{pick(r, "order_items", "user_prefs", "tmp_import")}" does not exist at character {r.randint(10, 90)}'
        ),
    ),
]

_CLASSES = ("com.shop.orders.OrderService", "com.shop.cart.CartController", "com.shop.pay.PaymentClient")

SPRING: list[Event] = [
    (
        "Completed initialization in <*> ms",
        2,
        lambda r: f"Completed initialization in {r.randint(1, 90)} ms",
    ),
    (
        "Started <*> in <*> seconds (process running for <*>)",
        2,
        lambda r: (
            f"Started {pick(r, 'OrdersApplication', 'CartApplication')} in {r.uniform(3, 30):.3f} seconds (process running for {r.uniform(4, 40):.3f})"
        ),
    ),
    (
        "HikariPool-<*> - Connection is not available, request timed out after <*>.",
        10,
        lambda r: f"HikariPool-1 - Connection is not available, request timed out after {r.randint(30000, 30100)}ms.",
    ),
    (
        "Order <*> placed by customer <*> with <*> items, total <*>",
        25,
        lambda r: (
            f"Order {r.randint(10**5, 10**6)} placed by customer {r.randint(1, 90000)} with {r.randint(1, 9)} items, total {r.uniform(1, 900):.2f}"
        ),
    ),
    (
        "Payment for order <*> failed: <*>",
        10,
        lambda r: (
            f"Payment for order {r.randint(10**5, 10**6)} failed: {pick(r, 'card_declined', 'insufficient_funds', 'processing_error')}"
        ),
    ),
    (
        "Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: <*>] with root cause",
        8,
        lambda r: (
            f"Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: {pick(r, 'java.lang.NullPointerException', 'java.lang.IllegalStateException: cart is empty')}] with root cause"
        ),
    ),
    (
        "Resolved [<*>: <*>]",
        8,
        lambda r: (
            f"Resolved [org.springframework.web.bind.{pick(r, 'MissingServletRequestParameterException', 'MethodArgumentNotValidException')}: Required parameter '{pick(r, 'id', 'qty')}' is not present.]"
        ),
    ),
    (
        "Cache miss for key <*> in region <*>",
        12,
        lambda r: (
            f"Cache miss for key {pick(r, 'order', 'cart', 'user')}:{r.randint(1, 10**6)} in region {pick(r, 'orders', 'carts', 'users')}"
        ),
    ),
    (
        "Retrying call to <*> (attempt <*> of <*>)",
        8,
        lambda r: (
            f"Retrying call to {r.choice(_CLASSES)}#{pick(r, 'charge', 'refund', 'reserve')} (attempt {r.randint(1, 3)} of 3)"
        ),
    ),
    (
        "Scheduled task <*> took <*> ms",
        5,
        lambda r: (
            f"Scheduled task {pick(r, 'expireCarts', 'syncInventory', 'sendDigest')} took {r.randint(5, 90000)} ms"
        ),
    ),
]

SYSTEMD: list[Event] = [
    (
        "Started <*>.",
        15,
        lambda r: (
            f"Started {pick(r, 'Session', 'User Manager for UID')} {r.randint(1, 9000)} of user {pick(r, 'root', 'deploy', 'ubuntu')}."
        ),
    ),
    (
        "Starting <*>...",
        6,
        lambda r: (
            f"Starting {pick(r, 'Daily apt download activities', 'Cleanup of Temporary Directories', 'Rotate log files')}..."
        ),
    ),
    (
        "<*>: Succeeded.",
        10,
        lambda r: (
            f"{pick(r, 'apt-daily.service', 'logrotate.service', 'systemd-tmpfiles-clean.service', 'session-' + str(r.randint(1, 9000)) + '.scope')}: Succeeded."
        ),
    ),
    (
        "<*>: Main process exited, code=exited, status=<*>/<*>",
        8,
        lambda r: (
            f"{pick(r, 'orders.service', 'cart.service', 'worker@' + str(r.randint(1, 4)) + '.service')}: Main process exited, code=exited, status={pick(r, '1/FAILURE', '203/EXEC', '2/INVALIDARGUMENT')}"
        ),
    ),
    (
        "<*>: Failed with result '<*>'.",
        8,
        lambda r: (
            f"{pick(r, 'orders.service', 'cart.service')}: Failed with result '{pick(r, 'exit-code', 'timeout', 'signal')}'."
        ),
    ),
    (
        "<*>: Scheduled restart job, restart counter is at <*>.",
        6,
        lambda r: (
            f"{pick(r, 'orders.service', 'cart.service')}: Scheduled restart job, restart counter is at {r.randint(1, 40)}."
        ),
    ),
    (
        "Out of memory: Killed process <*> (<*>) total-vm:<*>, anon-rss:<*>, file-rss:<*>, shmem-rss:<*>, UID:<*> pgtables:<*> oom_score_adj:<*>",
        3,
        lambda r: (
            f"Out of memory: Killed process {r.randint(100, 90000)} ({pick(r, 'java', 'python3', 'node')}) total-vm:{r.randint(10**5, 10**7)}kB, anon-rss:{r.randint(10**5, 10**7)}kB, file-rss:0kB, shmem-rss:0kB, UID:{r.randint(0, 1000)} pgtables:{r.randint(100, 9000)}kB oom_score_adj:0"
        ),
    ),
    (
        "New session <*> of user <*>.",
        10,
        lambda r: f"New session {r.randint(1, 9000)} of user {pick(r, 'root', 'deploy', 'ubuntu')}.",
    ),
    ("Removed session <*>.", 10, lambda r: f"Removed session {r.randint(1, 9000)}."),
    (
        "Accepted publickey for <*> from <*> port <*> ssh2: RSA SHA256:<*>",
        6,
        lambda r: (
            f"Accepted publickey for {pick(r, 'root', 'deploy', 'ubuntu')} from {ip(r)} port {port(r)} ssh2: RSA SHA256:{hexs(r, 43)}"
        ),
    ),
]

VALIDATION: dict[str, list[Event]] = {
    "nginx": NGINX,
    "go_service": GO_SERVICE,
    "postgres": POSTGRES,
    "spring": SPRING,
    "systemd": SYSTEMD,
}
