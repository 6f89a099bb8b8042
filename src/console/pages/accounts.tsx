import { Page } from '../components/page';
import type { PageProps } from '../router';

export default function AccountsPage(_props: PageProps) {
  return (
    <Page title="Accounts">
      <p role="status">This page is being built.</p>
    </Page>
  );
}
