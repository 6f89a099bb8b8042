import { Page } from '../components/page';
import type { PageProps } from '../router';

export default function PlanPage(_props: PageProps) {
  return (
    <Page title="Plan">
      <p role="status">This page is being built.</p>
    </Page>
  );
}
