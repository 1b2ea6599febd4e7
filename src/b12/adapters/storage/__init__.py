"""Storage of the therapy record: SQLAlchemy Core tables, repositories, a unit of work, migrations."""
