// Checks the backend's real answers against api/openapi.yaml, so that the
// spec the web app's types come from says what the services do.
import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { parse } from 'yaml'

export function contractChecker(specPath) {
  const spec = parse(readFileSync(specPath, 'utf8'))
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
  ajv.addSchema({ $id: 'spec', components: spec.components })
  const problems = []
  return {
    /** check validates data as the named schema, remembering what does not fit. */
    check(what, schema, data) {
      const validate = ajv.getSchema(`spec#/components/schemas/${schema}`)
      if (!validate) throw new Error(`no schema ${schema} in the spec`)
      if (!validate(data)) {
        problems.push(`${what} is not a ${schema}: ${ajv.errorsText(validate.errors)}`)
      }
    },
    problems,
  }
}
