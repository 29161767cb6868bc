/** Entry point of the `syncup` CLI; filled in by the subcommands in `./commands/`. */
export function main(_argv: readonly string[]): Promise<number> {
  return Promise.resolve(0);
}
