import { Page } from '../components/page';
import type { PageProps } from '../router';

export default function SchedulesPage(_props: PageProps) {
  return (
    <Page title="Schedules">
      <p role="status">This page is being built.</p>
    </Page>
  );
}
