DROP TABLE organization_invitations;
