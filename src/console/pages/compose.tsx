import { Page } from '../components/page';
import type { PageProps } from '../router';

export default function ComposePage(_props: PageProps) {
  return (
    <Page title="Compose">
      <p role="status">This page is being built.</p>
    </Page>
  );
}
