import { main } from './main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`tollgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
