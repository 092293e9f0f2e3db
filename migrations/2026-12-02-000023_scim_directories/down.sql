DROP TABLE scim_directories;
