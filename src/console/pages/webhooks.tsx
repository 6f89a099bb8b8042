import { Page } from '../components/page';
import type { PageProps } from '../router';

export default function WebhooksPage(_props: PageProps) {
  return (
    <Page title="Webhooks">
      <p role="status">This page is being built.</p>
    </Page>
  );
}
