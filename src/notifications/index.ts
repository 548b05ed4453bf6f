/**
 * The Notifications tier's behaviour: in-app notifications, their expiry, admin system events
 * and the pipeline's producers. See docs/notifications.md.
 */
export {
  createNotification,
  listNotifications,
  unreadNotifications,
  countUnreadNotifications,
  markRead,
  hideNotification,
  NOTIFICATION_CHANNELS,
  NOTIFICATION_PRIORITIES,
  type NotificationRow,
  type NotificationContent,
  type NewNotification,
  type NotificationPage,
  type NotificationChannel,
  type NotificationPriority,
} from './in-app.js';
export { expireNotifications, type ExpireOptions, type ExpireResult } from './expiry.js';
export { listOpenAdminEvents, resolveAdminEvent, type AdminSystemEventRow } from './admin-events.js';
export { notifyCampaignCompleted, notifyQuotaThreshold, quotaThresholdReached, QUOTA_THRESHOLDS, type ProducerResult, type QuotaThreshold } from './producers.js';
