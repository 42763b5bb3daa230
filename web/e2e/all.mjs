// Runs every browser test, one after the other: run.mjs (the main journey of
// an employee, an agent and an admin), then each script in e2e/features/, in
// name order. Each script starts a backend of its own (backend.mjs) and exits
// non-zero when a step fails; this exits non-zero when any script did.
//
// Run one script alone with `node e2e/run.mjs` or `node e2e/features/<name>.mjs`.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const features = join(here, 'features')
const scripts = [join(here, 'run.mjs')]
if (existsSync(features)) {
  for (const name of readdirSync(features).sort()) {
    if (name.endsWith('.mjs')) scripts.push(join(features, name))
  }
}

const failed = []
for (const script of scripts) {
  const { status, signal } = spawnSync(process.execPath, [script], { stdio: 'inherit' })
  if (status !== 0) failed.push(`${script.slice(here.length + 1)} (${signal ?? `exit ${status}`})`)
}
if (failed.length) {
  console.error(`e2e: ${failed.length} of ${scripts.length} scripts failed: ${failed.join(', ')}`)
  process.exit(1)
}
console.log(`e2e: all ${scripts.length} scripts passed`)
