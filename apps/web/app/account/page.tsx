import { AccountPage } from './_components/account-page';

export const dynamic = 'force-dynamic';

/** `/account`: the signed-in account — its name, its passkeys, its signed-in sessions. */
export default function Page() {
  return (
    <main className="page account">
      <AccountPage />
    </main>
  );
}
