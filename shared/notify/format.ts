// Small text helpers shared by the notification messages. Nothing here ever sees a child's
// words: messages are built from the alert's category, the child's first name and times.

export function firstName(name: string): string {
  return name.trim().split(/\s+/)[0] ?? name;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** e.g. "Tue 1 Dec, 19:04" in the family's zone and locale (falls back to en-GB). */
export function localTime(at: Date, timeZone: string, locale: string): string {
  const options: Intl.DateTimeFormatOptions = {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  };
  try {
    return new Intl.DateTimeFormat(locale, options).format(at);
  } catch {
    return new Intl.DateTimeFormat('en-GB', options).format(at);
  }
}

/** Parent-facing category per alert reason (stable codes from shared/learning/safety.ts). */
const CATEGORY: Record<string, string> = {
  self_harm_signal: 'Possible self-harm',
  abuse_signal: 'Possible abuse or danger at home',
  meeting_request: 'Talk of meeting someone',
  unsafe_content: 'Unsafe content',
  profile_graduated: 'Profile update',
};

export function alertCategory(reason: string): string {
  return CATEGORY[reason] ?? 'Safety notice';
}
