// WebSocket frames of the messaging service, {type, ticket_id, data}. The
// server's frames are untrusted input: they are checked with zod before the
// app touches them.
import { z } from 'zod'

export const commentSchema = z.object({
  id: z.string(),
  ticket_id: z.string(),
  author_id: z.string(),
  author_name: z.string().catch(''),
  author_role: z.enum(['employee', 'agent', 'admin']).catch('employee'),
  body: z.string(),
  internal: z.boolean(),
  created_at: z.string(),
  edited_at: z.string().nullish().transform((v) => v ?? null),
  deleted: z.boolean().catch(false),
})

export const presenceSchema = z.object({
  ticket_id: z.string().optional(),
  viewers: z.array(z.object({ user_id: z.string(), name: z.string().catch('') })),
})

export const typingSchema = z.object({ user_id: z.string(), name: z.string().catch('') })

export const notificationSchema = z.object({
  id: z.string(),
  kind: z.string(),
  ticket_id: z.string().nullish().transform((v) => v ?? null),
  title: z.string(),
  body: z.string().optional(),
  link: z.string().optional(),
  created_at: z.string(),
  read_at: z.string().nullish().transform((v) => v ?? null),
})

export const frameSchema = z.object({
  type: z.string(),
  ticket_id: z.string().optional(),
  data: z.unknown().optional(),
})

export type Frame = z.infer<typeof frameSchema>

/** parseFrame reads one text frame; null for anything malformed. */
export function parseFrame(text: string): Frame | null {
  try {
    const r = frameSchema.safeParse(JSON.parse(text))
    return r.success ? r.data : null
  } catch {
    return null
  }
}
