import { productApiOpenApi } from '../_schemas/openapi';

export const dynamic = 'force-dynamic';

/** Built on the first request: the document depends only on the code. */
let document: string | undefined;

/**
 * GET /api/openapi.json: the product API's OpenAPI 3.1 document. Public, as the pages and
 * docs/interface.md are.
 */
export function GET(): Response {
  document ??= JSON.stringify(productApiOpenApi());
  return new Response(document, { headers: { 'content-type': 'application/json' } });
}
