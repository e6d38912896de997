// The weekly digest email: HTML from an MJML template (mjml: responsive, tested across mail
// clients, loaded only when a digest is rendered), a plain-text part saying the same, and the
// chart as an inline PNG (cid). Only the parent's own data and children's first names appear.
import { config } from '../config.ts';
import { CHART_HEIGHT, CHART_WIDTH, chartSvg, renderChartPng, SERIES_COLOURS } from './chart.ts';
import type { ChildWeek, FamilyWeek } from './digest-data.ts';
import { escapeHtml as e } from './format.ts';
import type { MailAttachment } from './mailer.ts';

export const CHART_CID = 'weekly-chart@brainspark';

export interface DigestEmail {
  subject: string;
  html: string;
  text: string;
  attachments: MailAttachment[];
}

function names(children: readonly ChildWeek[]): string {
  const first = children.map((c) => c.firstName);
  if (first.length <= 1) return first.join('');
  return `${first.slice(0, -1).join(', ')} and ${first.at(-1)}`;
}

function dateRange(week: FamilyWeek): string {
  const fmt = (d: string, opts: Intl.DateTimeFormatOptions) =>
    new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', ...opts }).format(
      new Date(`${d}T12:00:00Z`),
    );
  return `${fmt(week.weekStart, { day: 'numeric', month: 'short' })} - ${fmt(week.weekEnd, { day: 'numeric', month: 'short', year: 'numeric' })}`;
}

const arrow = (change: number) =>
  change > 0 ? `up ${change}` : change < 0 ? `down ${-change}` : 'steady';
const hours = (minutes: number) =>
  minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;

function childSection(child: ChildWeek, index: number): string {
  const colour = SERIES_COLOURS[index % SERIES_COLOURS.length];
  const topics =
    child.topics.length > 0
      ? child.topics
          .map((t) => `${e(t.name)} <span style="color:#6b7280">(depth ${t.depth})</span>`)
          .join(', ')
      : 'No new topics this week.';
  const badges = child.badges.length > 0 ? child.badges.map(e).join(', ') : 'None this week';
  const trend =
    child.trend.length > 0
      ? child.trend
          .map(
            (m) =>
              `<tr><td style="padding:2px 12px 2px 0">${e(m.label)}</td><td style="padding:2px 12px 2px 0"><b>${m.latest}</b></td><td style="color:${m.change > 0 ? '#047857' : m.change < 0 ? '#b45309' : '#6b7280'}">${arrow(m.change)}</td></tr>`,
          )
          .join('')
      : '<tr><td>Not enough conversations yet for a thinking-skills score.</td></tr>';
  return `
    <mj-section background-color="#ffffff" padding="16px 24px 8px" border-left="6px solid ${colour}">
      <mj-column>
        <mj-text font-size="20px" font-weight="bold" color="#111827" padding="0 0 8px">${e(child.firstName)}</mj-text>
        <mj-table font-size="14px" color="#374151" cellpadding="4">
          <tr>
            <td><div style="font-size:22px;font-weight:bold;color:${colour}">${hours(child.totalMinutes)}</div>this week</td>
            <td><div style="font-size:22px;font-weight:bold;color:${colour}">${child.currentStreak} day${child.currentStreak === 1 ? '' : 's'}</div>streak (best ${child.longestStreak})</td>
            <td><div style="font-size:22px;font-weight:bold;color:${colour}">${child.stars}</div>stars earned</td>
          </tr>
        </mj-table>
        <mj-text font-size="14px" color="#374151" padding="8px 0 0"><b>Topics explored:</b> ${topics}</mj-text>
        <mj-text font-size="14px" color="#374151" padding="8px 0 0"><b>Badges:</b> ${badges}</mj-text>
        <mj-text font-size="14px" color="#374151" padding="8px 0 0"><b>Thinking skills (last 4 weeks):</b></mj-text>
        <mj-table font-size="14px" color="#374151" padding="4px 0 8px" width="auto">${trend}</mj-table>
      </mj-column>
    </mj-section>`;
}

function childText(child: ChildWeek): string {
  const lines = [
    `${child.firstName}`,
    `  Time this week: ${hours(child.totalMinutes)} (${child.days.map((d) => `${d.minutes}`).join(' / ')} min, Mon-Sun)`,
    `  Streak: ${child.currentStreak} day(s), best ${child.longestStreak}`,
    `  Stars earned: ${child.stars}`,
    `  Badges: ${child.badges.length > 0 ? child.badges.join(', ') : 'none this week'}`,
    `  Topics explored: ${child.topics.length > 0 ? child.topics.map((t) => `${t.name} (depth ${t.depth})`).join(', ') : 'none this week'}`,
    `  Thinking skills (last 4 weeks): ${child.trend.length > 0 ? child.trend.map((m) => `${m.label} ${m.latest} (${arrow(m.change)})`).join(', ') : 'not enough conversations yet'}`,
  ];
  return lines.join('\n');
}

export async function renderDigestEmail(
  week: FamilyWeek,
  options: { parentName: string | null; unsubscribeUrl: string },
): Promise<DigestEmail> {
  const app = config().PUBLIC_APP_URL.replace(/\/+$/, '');
  const who = names(week.children);
  const range = dateRange(week);
  const greeting = options.parentName ? `Hi ${e(options.parentName)},` : 'Hi,';
  const png = await renderChartPng(chartSvg(week.children));
  const mjml = `<mjml>
  <mj-head>
    <mj-title>Your week on BrainSpark</mj-title>
    <mj-preview>${e(who)}'s week: ${range}</mj-preview>
    <mj-attributes><mj-all font-family="Helvetica, Arial, sans-serif" /></mj-attributes>
  </mj-head>
  <mj-body background-color="#f3f4f6" width="640px">
    <mj-section background-color="#4f46e5" padding="20px 24px">
      <mj-column>
        <mj-text color="#ffffff" font-size="24px" font-weight="bold" padding="0">BrainSpark weekly digest</mj-text>
        <mj-text color="#e0e7ff" font-size="14px" padding="4px 0 0">${range}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" padding="16px 24px 0">
      <mj-column>
        <mj-text font-size="15px" color="#374151" padding="0 0 12px">${greeting} here is ${e(who)}'s week of exploring.</mj-text>
        <mj-image src="cid:${CHART_CID}" alt="Minutes per day this week for ${e(who)}" width="${CHART_WIDTH}px" height="${CHART_HEIGHT}px" padding="0" />
      </mj-column>
    </mj-section>
    ${week.children.map(childSection).join('\n')}
    <mj-section background-color="#ffffff" padding="8px 24px 20px">
      <mj-column>
        <mj-button href="${e(app)}/dashboard" background-color="#4f46e5" align="left">Open the dashboard</mj-button>
      </mj-column>
    </mj-section>
    <mj-section padding="12px 24px">
      <mj-column>
        <mj-text font-size="12px" color="#6b7280" padding="0">You get this digest because weekly emails are on for your account.
          <a href="${e(options.unsubscribeUrl)}" style="color:#4f46e5">Unsubscribe from the weekly digest</a> or
          <a href="${e(app)}/settings/notifications" style="color:#4f46e5">change notification settings</a>.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
  const { default: mjml2html } = await import('mjml');
  const rendered = await mjml2html(mjml, { validationLevel: 'strict', minify: false });
  const text = [
    `BrainSpark weekly digest, ${range}`,
    '',
    `${options.parentName ? `Hi ${options.parentName},` : 'Hi,'} here is ${who}'s week of exploring.`,
    '',
    ...week.children.map(childText).flatMap((t) => [t, '']),
    `Open the dashboard: ${app}/dashboard`,
    '',
    `Unsubscribe from the weekly digest: ${options.unsubscribeUrl}`,
    `Notification settings: ${app}/settings/notifications`,
  ].join('\n');
  return {
    subject: `Your week on BrainSpark: ${who}`,
    html: rendered.html,
    text,
    attachments: [
      { filename: 'weekly-chart.png', content: png, contentType: 'image/png', cid: CHART_CID },
    ],
  };
}
