-- Reverses 20261201000400_notifications.
DROP TABLE notification_deliveries;
DROP TABLE parent_devices;
