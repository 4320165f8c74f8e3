import { json, route } from '../../../../../lib/server/http';
import { signInOptions } from '../../../../../lib/server/passkeys';

export const dynamic = 'force-dynamic';

/**
 * POST /api/auth/login/options → `{ ceremony, options }`: a sign-in begins. `options` (no
 * credential list: the browser offers the person's passkeys for this site) go to
 * navigator.credentials.get() (startAuthentication); its answer to POST /api/auth/login/verify.
 */
export const POST = route(async (request: Request) => json(await signInOptions(request)));
