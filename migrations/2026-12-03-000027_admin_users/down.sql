DROP TABLE admin_sessions;
DROP TABLE admin_users;
DROP TABLE admin_roles;
