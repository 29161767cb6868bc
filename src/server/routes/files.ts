/**
 * A batch's files: an agent uploads each one (streamed, its SHA-256 checked), then seals the
 * batch, which queues it. The work is `TransferService`'s; the route checks that the body is a
 * stream of bytes.
 */
import type { Readable } from "node:stream";
import { SHA256_HEADER } from "../../protocol/api.js";
import * as S from "../schemas.js";
import type { TransferService } from "../transfer.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

export function registerFileRoutes(api: Api, deps: { readonly transfer: TransferService }) {
  const { transfer } = deps;

  api.put<{ Params: { id: string; name: string } }>(
    "/batches/:id/files/:name",
    {
      schema: {
        summary: "Upload one file of a batch",
        description: `The body is the file's bytes (application/octet-stream), streamed; the ${SHA256_HEADER} header holds their SHA-256, which the server checks. 201 when stored, 200 when the same file was already there (a retry changes nothing), 409 when a different file of that name is.`,
        params: S.fileParams,
        headers: S.uploadHeaders,
        consumes: ["application/octet-stream"],
        response: { 200: S.batchFile, 201: S.batchFile, ...S.errors(400, 401, 403, 404, 409, 413) },
      },
    },
    async (request, reply) => {
      const sha = request.headers[SHA256_HEADER];
      const body = byteStream(request.body);
      const file = await transfer.upload(
        principalOf(request),
        request.params.id,
        request.params.name,
        typeof sha === "string" ? sha.toLowerCase() : undefined,
        body,
      );
      const { created, ...rest } = file;
      return reply.status(created ? 201 : 200).send(rest);
    },
  );

  api.post<{ Params: { id: string }; Body: S.SealBody }>(
    "/batches/:id/seal",
    {
      schema: {
        summary: "Seal a batch: its files are complete",
        description:
          "Lists every file with its SHA-256; the server checks them against what it received and against prepare.json. Sealing again answers the batch as it is. Once sealed, the batch is queued: per connector, batches are synchronized one at a time in notification order, each at most once.",
        params: S.idParams,
        body: S.sealRequest,
        response: { 200: S.batchView, ...S.errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const view = await transfer.seal(principalOf(request), request.params.id, request.body);
      request.log.info({ batch: view.id, connector: view.connector, state: view.state }, "batch sealed");
      return view;
    },
  );
}

/** The upload's body: the request stream that the octet-stream parser hands over (415 otherwise). */
function byteStream(body: unknown): Readable {
  if (body === undefined || typeof (body as { pipe?: unknown }).pipe !== "function") {
    throw Object.assign(new Error("Send the file's bytes as application/octet-stream."), {
      statusCode: 415,
    });
  }
  return body as Readable;
}
