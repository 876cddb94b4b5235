import {
  type FastifyPluginAsyncZod,
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod'
import { z } from 'zod'
import { describeIssues } from '../../common/errors.ts'
import { type FaultsPatch, faultsPatchSchema } from '../config.ts'
import { mockErrors } from '../errors.ts'
import type { Faults, MockQueryRecord, MockQueryState, QueryCounts } from '../types.ts'

/**
 * The control API under `/_mock/` on the mock's own port: what every query looked like when it
 * arrived and what became of it, the counters, and the faults. It is the control plane: faults
 * never apply to it.
 */

export interface MockControlPlane {
  queries(state?: MockQueryState): MockQueryRecord[]
  query(queryId: string): MockQueryRecord | undefined
  counts(): QueryCounts
  faults(): Faults
  setFaults(patch: FaultsPatch): Faults
}

export const controlPrefix = '/_mock'

const stateSchema = z.enum(['QUEUED', 'RUNNING', 'FINISHED', 'FAILED'])

export const controlApi: FastifyPluginAsyncZod<{ control: MockControlPlane }> = async (app, { control }) => {
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // The coordinator's routes read every body as raw SQL; the control API reads JSON.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, body === '' ? {} : JSON.parse(body as string))
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined)
    }
  })
  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const lines = describeIssues(
        error.validation.map((v) => ({
          path: v.instancePath.split('/').filter((p: string) => p !== ''),
          message: v.message,
        })),
        request.body,
        error.validationContext ?? 'body',
      )
      return reply.code(400).send({ code: mockErrors.MOCK_CONTROL_INVALID, message: lines.join('; '), lines })
    }
    const statusCode = (error as { statusCode?: number }).statusCode ?? 500
    return reply
      .code(statusCode)
      .send({ code: mockErrors.MOCK_CONTROL_INVALID, message: (error as Error).message })
  })

  app.get(
    '/queries',
    { schema: { querystring: z.strictObject({ state: stateSchema.optional() }) } },
    async (request) => control.queries(request.query.state),
  )

  app.get(
    '/queries/:queryId',
    { schema: { params: z.object({ queryId: z.string().min(1) }) } },
    async (request, reply) => {
      const record = control.query(request.params.queryId)
      if (record === undefined) {
        return reply.code(404).send({
          code: mockErrors.MOCK_QUERY_NOT_FOUND,
          message: `no query ${JSON.stringify(request.params.queryId)} (never seen, or pruned after the retention bound)`,
        })
      }
      return record
    },
  )

  app.get('/counts', async () => control.counts())

  app.get('/faults', async () => control.faults())

  app.put('/faults', { schema: { body: faultsPatchSchema } }, async (request) =>
    control.setFaults(request.body),
  )
}
