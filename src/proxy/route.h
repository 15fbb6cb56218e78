/* Request routing: server by Host, location by path (nginx's rules). */
#ifndef RP_PROXY_ROUTE_H
#define RP_PROXY_ROUTE_H

#include "conf/conf.h"
#include "core/str.h"

/* Normalises a Host value for matching into `out` (cap >= host.len): lower-
 * case, port removed, one trailing dot removed, IPv6 literal kept with its
 * brackets. Returns the length, or -1 when the host is invalid (then the
 * request gets 400). */
int rp_route_normalize_host(rp_str_t host, char *out, size_t cap);

/* Chooses the server among those of `ls` for a normalised host name, as
 * nginx does: exact name; longest wildcard with leading "*" (".example.com"
 * counts as exact and as "*.example.com"); longest wildcard with trailing
 * "*"; first matching regex in config order; else ls->default_server.
 * An empty host selects the default server. */
rp_server_t *rp_route_server(const rp_listen_t *ls, rp_str_t host);

/* Finds the location for a normalised path (already percent-decoded and
 * with dot segments resolved, no query), nginx's order: exact "=" match
 * wins at once; otherwise the longest prefix (including "^~" ones) is
 * remembered, its nested locations are searched the same way; then, unless
 * the longest prefix has "^~", regex locations are tried in config order,
 * innermost level first (nested regexes of the chosen prefix before those
 * of the enclosing level); the first matching regex wins; else the longest
 * prefix. Returns NULL when nothing matches (server-level settings apply).
 * Captures of a matching regex are stored in caps (pairs of offsets into
 * path, up to ncaps pairs, -1 for unset) and *ncaps_out set. */
rp_location_t *rp_route_location(const rp_server_t *srv, rp_str_t path, int *caps, int ncaps,
                                 int *ncaps_out);

/* Finds a named location "@name" (without '@') of a server, or NULL. */
rp_location_t *rp_route_named(const rp_server_t *srv, rp_str_t name);

/* Decodes %XX, resolves "." and ".." segments and merges "//" (as nginx
 * with merge_slashes on) of the path part of a request target (up to '?').
 * Writes into out (cap >= path.len). Returns the length, or -1 when the path
 * is invalid (e.g. ".." above the root, %00, bad %XX): 400. */
int rp_route_normalize_path(rp_str_t path, char *out, size_t cap);

/* Builds the URI sent to the backend per nginx's proxy_pass rules:
 * - pass->has_uri == 0: the original request URI (request_uri, unchanged,
 *   with the query) is sent;
 * - has_uri: the part of the normalised path matching the location's prefix
 *   (loc->name for prefix/exact locations) is replaced by pass->uri, and the
 *   original query string (args, without '?', may be empty) is appended;
 *   for regex and named locations the normalised path is sent as is (nginx
 *   rejects a URI part there at config time).
 * Result is percent-encoded where needed (space, control, non-ASCII, '?' and
 * '#' in the path part) and stored in memory from `a`. */
int rp_route_upstream_uri(const rp_proxy_pass_t *pass, const rp_location_t *loc,
                          rp_str_t request_uri, rp_str_t norm_path, rp_str_t args, rp_arena_t *a,
                          rp_str_t *out);

#endif
