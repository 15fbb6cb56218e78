/* proxy_redirect: rewriting the Location and Refresh fields of a backend's
 * response (nginx's ngx_http_proxy_module semantics).
 *
 * The rules are compiled and merged with the generation (conf.h,
 * rp_loc_conf_t.proxy_redirects): `default` and the implicit default of a
 * location with proxy_pass are already plain rules there, so applying them
 * needs nothing but the request's variables. Pure functions: no I/O, no
 * global state; memory of the result comes from the caller's arena.
 */
#ifndef RP_CONF_REDIRECT_H
#define RP_CONF_REDIRECT_H

#include "conf/conf.h"
#include "conf/vars.h"
#include "core/arena.h"
#include "core/str.h"

/* Applies lc's proxy_redirect rules to the value of a backend's Location
 * field. The first rule that matches wins:
 *   - a prefix rule matches when the value starts with the evaluated
 *     pattern (case-sensitive); that prefix is replaced by the evaluated
 *     replacement, the rest is kept;
 *   - a regex rule (~ / ~*) matches anywhere in the value; the whole value
 *     becomes the replacement, in which $1..$9 are the match's groups.
 * When a rule matched and the result starts with '/', it is made absolute
 * as nginx does for a rewritten Location (absolute_redirect on,
 * server_name_in_redirect off, port_in_redirect on):
 * "$scheme://$host" + (":$server_port" unless 80 for http / 443 for https)
 * + value — hence `proxy_redirect http://backend/ /;` and
 * `proxy_redirect / /;` give the client's own host and port.
 *
 * loc is the location lc belongs to; it is not needed (rules are
 * resolved at load time) and may be NULL. get/ctx supply the request's
 * variables (as for rp_tpl_eval; get may be NULL when no rule uses one).
 * Returns RP_OK with *out = the rewritten value, or *out = value itself
 * (same pointer and length) when no rule matches or lc has none; RP_ERROR
 * when the arena is out of memory. */
int rp_proxy_redirect(const rp_loc_conf_t *lc, const rp_location_t *loc, rp_str_t value,
                      rp_var_get_fn get, void *ctx, rp_arena_t *a, rp_str_t *out);

/* The same rules for a Refresh field ("5; url=http://b/x"): applied to the
 * text after the first "url=" (case-insensitive); the part before it is
 * kept. No "url=": unchanged. The result is never made absolute (nginx
 * does that for Location only). Same return contract. */
int rp_proxy_redirect_refresh(const rp_loc_conf_t *lc, const rp_location_t *loc, rp_str_t value,
                              rp_var_get_fn get, void *ctx, rp_arena_t *a, rp_str_t *out);

#endif
