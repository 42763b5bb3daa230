// Starts the real backend for the browser test: builds ticketflow, gives it
// a fresh PostgreSQL database, RabbitMQ vhost, Redis prefix and Temporal task
// queue, migrates, runs `ticketflow dev` on a free port serving web/dist,
// and takes all of it down again.
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => ok(port))
    })
  })
}

async function waitFor(what, check, ms) {
  const deadline = Date.now() + ms
  let last
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`${what}: not within ${ms / 1000}s${last ? ` (${last.message})` : ''}`)
}

/** startBackend returns {base, env, cli, stop, logs}. */
export async function startBackend({ repo, dist, log = () => {} }) {
  const id = `e2e${randomBytes(4).toString('hex')}`
  const tmp = mkdtempSync(join(tmpdir(), 'ticketflow-e2e-'))
  const cleanups = []
  const stop = async () => {
    for (const f of cleanups.reverse()) {
      try {
        await f()
      } catch (e) {
        log(`cleanup: ${e.message}`)
      }
    }
  }
  try {
    const bin = join(tmp, 'ticketflow')
    log('building ticketflow')
    await run('go', ['build', '-o', bin, './cmd/ticketflow'], { cwd: repo, maxBuffer: 16 << 20 })
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }))

    const pgHost = process.env.E2E_PGHOST ?? '127.0.0.1'
    await run('createdb', ['-h', pgHost, '-U', 'postgres', id])
    cleanups.push(() => run('dropdb', ['-h', pgHost, '-U', 'postgres', '--if-exists', '--force', id]))
    await run('rabbitmqctl', ['-q', 'add_vhost', id])
    cleanups.push(() => run('rabbitmqctl', ['-q', 'delete_vhost', id]))
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', id, 'guest', '.*', '.*', '.*'])
    cleanups.push(async () => {
      // Remove the run's Redis keys; the prefix is the run's alone.
      const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '--scan', '--pattern', `${id}:*`])
      const keys = stdout.split('\n').filter(Boolean)
      if (keys.length) await run('redis-cli', ['-h', '127.0.0.1', 'del', ...keys])
    })

    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const env = {
      ...process.env,
      DATABASE_URL: `postgres://postgres@${pgHost}:5432/${id}?sslmode=disable`,
      DATABASE_MAX_CONNS: '4',
      AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/${id}`,
      REDIS_PREFIX: `${id}:`,
      TEMPORAL_TASK_QUEUE: id,
      HTTP_ADDR: `127.0.0.1:${port}`,
      PUBLIC_URL: base,
      WEB_DIST: resolve(dist),
      ATTACHMENTS_DIR: join(tmp, 'attachments'),
      MAIL_DIR: join(tmp, 'mail'),
      LOG_FORMAT: 'text',
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    }
    const cli = (...args) => run(bin, args, { env, cwd: tmp })
    log('migrating')
    await cli('migrate')

    log(`starting ticketflow dev on ${base}`)
    const logs = []
    const dev = spawn(bin, ['dev'], { env, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] })
    const keep = (chunk) => {
      logs.push(chunk.toString())
      if (logs.length > 400) logs.shift()
    }
    dev.stdout.on('data', keep)
    dev.stderr.on('data', keep)
    let exited = null
    const done = new Promise((r) => dev.on('exit', (code) => r((exited = code ?? 'signal'))))
    cleanups.push(async () => {
      if (exited !== null) return
      dev.kill('SIGINT')
      const t = setTimeout(() => dev.kill('SIGKILL'), 10_000)
      await done
      clearTimeout(t)
    })
    await waitFor('ticketflow dev ready', async () => {
      if (exited !== null) throw new Error(`ticketflow dev exited (${exited}): ${logs.join('').slice(-2000)}`)
      const res = await fetch(`${base}/readyz`)
      return res.ok
    }, 60_000)
    return { base, env, cli, stop, logs: () => logs.join('') }
  } catch (e) {
    await stop()
    throw e
  }
}

/** api is a tiny JSON client of the running backend, for setting up data. */
export function api(base, token) {
  return async (method, path, body, want) => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
    const text = await res.text()
    const data = text ? JSON.parse(text) : undefined
    if (want && res.status !== want) throw new Error(`${method} ${path}: ${res.status}, want ${want}: ${text}`)
    return { status: res.status, data }
  }
}

export { waitFor }
