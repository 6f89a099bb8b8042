import { Page } from '../components/page';
import type { PageProps } from '../router';

export default function PipelinePage(_props: PageProps) {
  return (
    <Page title="Pipeline">
      <p role="status">This page is being built.</p>
    </Page>
  );
}
