/** Helpers of the job tests: a connector whose export is slow (an external command that sleeps). */

/** An export command that takes `ms` milliseconds. */
function slowExport(ms: number): string {
  const script = `setTimeout(() => require("fs").writeFileSync(require("path").join(process.env.SYNCUP_OUTPUT_DIR, "slow_people.csv"), "id;name\\n1;A\\n2;B\\n"), ${ms})`;
  return JSON.stringify([process.execPath, "-e", script]);
}

/** A connector SLOW whose export takes `ms`, and two jobs of it on `schedule` (and a manual one). */
export function slowConfigYaml(ms: number, schedule: string): string {
  return `
version: 1
workDir: ./work
database: { url: "sqlite:./data/syncup.db" }
entityModel:
  entityTypes:
    Person:
      properties:
        id: { type: string }
        name: { type: string }
connectors:
  SLOW:
    connections:
      slow:
        type: command
        command: ${slowExport(ms)}
        tables:
          people: {}
    entityTypeMappings:
      Person:
        table: slow_people
        primaryKey: id
        properties: { id: id, name: name }
jobs:
  SLOW_a: { connector: SLOW, mode: complete, schedule: "${schedule}", timeZone: Europe/Paris }
  SLOW_b: { connector: SLOW, mode: complete, schedule: "${schedule}" }
  SLOW_manual: { connector: SLOW, mode: complete }
`;
}
