/** The caller of an admin route, as the auth plugin (gateway/auth/plugin.ts) sets it on each request. */
import type { Role } from './config.ts'

export interface Principal {
  name: string
  roles: ReadonlySet<Role>
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller; with security off, Trino Gateway's `user` holding every role. */
    principal: Principal
  }
}
