/**
 * Which role each admin route needs: Trino Gateway's `@RolesAllowed` map (trino-gateway.md §1.3–1.8),
 * keyed by fastify's route pattern. Pure; the auth plugin looks a request up here. A route missing
 * from the table needs `admin` (fail closed), and a test checks that every registered route is listed.
 *
 * Where Trino Gateway let role USER change configuration (the pre-v19 `/trino/*` resource-group
 * and selector writes were class-level USER), writes need `admin` here: `user` only reads.
 */
import type { Role } from './config.ts'

/** `public`: no login needed (health, public backend list, metrics, login itself, the UI's files). */
export type Access = Role | 'public'

type Method = 'GET' | 'POST' | 'HEAD'

/** `METHOD /route/pattern` → the access it needs. */
export const routeAccess: Readonly<Record<string, Access>> = {
  // Health, public state and metrics (§1.2): never authenticated in Trino Gateway.
  'GET /trino-gateway/livez': 'public',
  'GET /trino-gateway/readyz': 'public',
  'GET /api/public/backends': 'public',
  'GET /api/public/backends/:name': 'public',
  'GET /api/public/backends/:name/state': 'public',
  'GET /metrics': 'public',
  // Login (§1.6) and the UI's own files.
  'POST /login': 'public',
  'POST /logout': 'public',
  'POST /loginType': 'public',
  'POST /userinfo': 'user',
  'GET /': 'public',
  'GET /trino-gateway': 'public',
  'GET /trino-gateway/': 'public',
  'GET /trino-gateway/assets/:file': 'public',
  // Backend management, role API (§1.3).
  'GET /gateway': 'api',
  'GET /gateway/backend/all': 'api',
  'GET /gateway/backend/active': 'api',
  'POST /gateway/backend/activate/:name': 'api',
  'POST /gateway/backend/deactivate/:name': 'api',
  'POST /gateway/backend/modify/add': 'api',
  'POST /gateway/backend/modify/update': 'api',
  'POST /gateway/backend/modify/delete': 'api',
  // Entity editor, role ADMIN (§1.4).
  'GET /entity': 'admin',
  'GET /entity/:entityType': 'admin',
  'POST /entity': 'admin',
  // Web-app API (§1.5).
  'POST /webapp/getAllBackends': 'user',
  'POST /webapp/findQueryHistory': 'user',
  'POST /webapp/getDistribution': 'user',
  'GET /webapp/getUIConfiguration': 'user',
  'POST /webapp/saveBackend': 'admin',
  'POST /webapp/updateBackend': 'admin',
  'POST /webapp/deleteBackend': 'admin',
  'GET /webapp/getRoutingRules': 'admin',
  'POST /webapp/updateRoutingRules': 'admin',
  'POST /webapp/findExactMatchSourceSelector': 'user',
  'POST /webapp/saveExactMatchSourceSelector': 'admin',
  // Resource groups, selectors, global properties (§1.7): reads USER, writes ADMIN.
  'POST /trino/resourcegroup/create': 'admin',
  'GET /trino/resourcegroup/read': 'user',
  'GET /trino/resourcegroup/read/': 'user',
  'GET /trino/resourcegroup/read/:id': 'user',
  'POST /trino/resourcegroup/update': 'admin',
  'POST /trino/resourcegroup/delete/:id': 'admin',
  'POST /trino/selector/create': 'admin',
  'GET /trino/selector/read': 'user',
  'GET /trino/selector/read/': 'user',
  'GET /trino/selector/read/:id': 'user',
  'POST /trino/selector/update': 'admin',
  'POST /trino/selector/delete': 'admin',
  'POST /trino/globalproperty/create': 'admin',
  'POST /trino/globalproperty/update': 'admin',
  'GET /trino/globalproperty/read': 'user',
  'GET /trino/globalproperty/read/': 'user',
  'GET /trino/globalproperty/read/:name': 'user',
  'POST /trino/globalproperty/delete/:name': 'admin',
}

/** The access a route needs; unknown routes need `admin`. HEAD is looked up as GET. */
export function accessOf(method: string, routeUrl: string): Access {
  const lookup = (method === 'HEAD' ? 'GET' : method) as Method
  return routeAccess[`${lookup} ${routeUrl}`] ?? 'admin'
}

/** Roles a privileges string holds: each role whose regex matches the whole string. */
export function rolesOf(privileges: string, roleRegexes: Readonly<Record<Role, string>>): Set<Role> {
  const held = new Set<Role>()
  for (const role of Object.keys(roleRegexes) as Role[]) {
    if (new RegExp(`^(?:${roleRegexes[role]})$`).test(privileges)) held.add(role)
  }
  return held
}
