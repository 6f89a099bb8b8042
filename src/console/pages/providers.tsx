import { Page } from '../components/page';
import type { PageProps } from '../router';

export default function ProvidersPage(_props: PageProps) {
  return (
    <Page title="Providers">
      <p role="status">This page is being built.</p>
    </Page>
  );
}
