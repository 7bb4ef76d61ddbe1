import type Docker from "dockerode";

/** Credentials for a registry with auth (Docker's X-Registry-Auth). */
export interface PullAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/**
 * Pull an image onto this engine (a release from the registry onto a swarm node, for a
 * one-off there); fails on an error line of the progress stream, not only on its end.
 */
export async function pullImage(raw: Docker, ref: string, authconfig?: PullAuth): Promise<void> {
  const stream = (await raw.pull(ref, authconfig ? { authconfig } : {})) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => {
    raw.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: { error?: string }) => {
        if (event.error) reject(new Error(`pulling ${ref}: ${event.error}`));
      },
    );
  });
}
