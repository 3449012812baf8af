"""Infrastructure shared by every package: settings, the database engine, migrations, throwaway servers."""
