import { systemCli } from "./context.js";
import { runCli } from "./program.js";

// Entry point of bin/paas.

// `paas logs | head` closes stdout early; that is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

process.exitCode = await runCli(systemCli(), process.argv);
