import type Docker from "dockerode";
import tarStream from "tar-stream";
import { statusOf } from "./containers.js";

/**
 * The text of one file of an image (its /etc/passwd, say), or null if it has none: read from
 * a container created from the image and never started (so no command of the image runs),
 * removed afterwards.
 */
export async function readImageFile(
  docker: Docker,
  image: string,
  file: string,
  labels: Record<string, string>,
): Promise<string | null> {
  const c = await docker.createContainer({
    Image: image,
    Entrypoint: ["/nonexistent"],
    Cmd: [],
    Labels: labels,
    NetworkDisabled: true,
  });
  try {
    let archive: NodeJS.ReadableStream;
    try {
      archive = (await c.getArchive({ path: file })) as NodeJS.ReadableStream;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
    return await new Promise<string | null>((resolve, reject) => {
      let text: string | null = null;
      const extract = tarStream.extract();
      extract.on("entry", (header, body, next) => {
        const chunks: Buffer[] = [];
        body.on("data", (d) => chunks.push(d as Buffer));
        body.on("end", () => {
          if (text === null && header.type === "file") text = Buffer.concat(chunks).toString("utf8");
          next();
        });
      });
      extract.on("finish", () => resolve(text));
      extract.on("error", reject);
      archive.on("error", reject);
      archive.pipe(extract);
    });
  } finally {
    await c.remove({ force: true }).catch(() => {});
  }
}
