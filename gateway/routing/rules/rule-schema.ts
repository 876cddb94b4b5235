/** The routing-rule shape alone (no compiler), so the web UI can validate a rule in the page. */
import { z } from 'zod'

/** A rule as the file and the rules API spell it (Trino Gateway's RoutingRule). */
export const routingRuleSchema = z.strictObject({
  name: z.string().min(1),
  description: z
    .string()
    .nullish()
    .transform((value) => value ?? ''),
  priority: z
    .number()
    .int()
    .nullish()
    .transform((value) => value ?? 0),
  condition: z.string().min(1),
  actions: z.array(z.string().min(1)),
})

export type RoutingRule = z.output<typeof routingRuleSchema>
