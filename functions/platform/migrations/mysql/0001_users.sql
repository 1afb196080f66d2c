-- Users of the distributed form. The email's collation is case-insensitive, so the unique
-- key and `WHERE email = ?` both ignore case (as the SQLite table's COLLATE NOCASE does).
CREATE TABLE users (
    id            VARCHAR(64)  NOT NULL PRIMARY KEY,
    email         VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    UNIQUE KEY users_email_unique (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
