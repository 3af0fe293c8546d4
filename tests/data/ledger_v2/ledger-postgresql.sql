
SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

CREATE SCHEMA voipbill;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE voipbill.calls (
    server text NOT NULL,
    xml_cdr_uuid text NOT NULL,
    service text NOT NULL,
    period text NOT NULL,
    start_epoch bigint NOT NULL,
    status text NOT NULL,
    cost numeric,
    run_id bigint NOT NULL
);

CREATE TABLE voipbill.ledger_version (
    version integer NOT NULL
);

CREATE TABLE voipbill.run_rows (
    run_id bigint NOT NULL,
    rows bytea NOT NULL
);

CREATE TABLE voipbill.run_services (
    run_id bigint NOT NULL,
    "position" integer NOT NULL,
    service text NOT NULL,
    calls integer NOT NULL,
    late_calls integer NOT NULL,
    amount numeric NOT NULL
);

CREATE TABLE voipbill.runs (
    id bigint NOT NULL,
    period text NOT NULL,
    first_day date NOT NULL,
    last_day date NOT NULL,
    services jsonb NOT NULL,
    late_days integer NOT NULL,
    format text NOT NULL,
    detail text NOT NULL,
    currency text NOT NULL,
    calls integer NOT NULL,
    late_calls integer NOT NULL,
    amount numeric NOT NULL,
    output_path text NOT NULL,
    output_sha256 text NOT NULL,
    output bytea NOT NULL,
    status text NOT NULL,
    created timestamp with time zone NOT NULL,
    voided timestamp with time zone,
    CONSTRAINT runs_status_check CHECK ((status = ANY (ARRAY['committed'::text, 'voided'::text])))
);

CREATE TABLE voipbill.void_reasons (
    run_id bigint NOT NULL,
    reason text NOT NULL
);

CREATE TABLE voipbill.voided_calls (
    server text NOT NULL,
    xml_cdr_uuid text NOT NULL,
    service text NOT NULL,
    period text NOT NULL,
    start_epoch bigint NOT NULL,
    status text NOT NULL,
    cost numeric,
    run_id bigint NOT NULL
);

INSERT INTO voipbill.calls VALUES ('file', 'oct-a', 'mcon', '2026-10', 1791043200, 'rated', 0.0010, 1);
INSERT INTO voipbill.calls VALUES ('file', 'oct-b', 'mcon', '2026-10', 1792512000, 'rated', 0.0210, 1);
INSERT INTO voipbill.calls VALUES ('file', 'nov-a', 'mcon', '2026-11', 1793638800, 'rated', 0.0050, 3);
INSERT INTO voipbill.calls VALUES ('file', 'nov-b', 'mcon', '2026-11', 1795194000, 'rated', 0.0020, 3);

INSERT INTO voipbill.ledger_version VALUES (2);

INSERT INTO voipbill.run_rows VALUES (1, '\x789cb58eb10ac2400c865fa5dc5ccfe43495ce3e8238950ee99d4341ef44527d7d138ba0d0c5c1217ff2ff24e1eb3a778925bbba7a75ff60213f46b997f1ea235b1e1083f512656501ee5a84ed26005838c950a69c6c21b38c25f3f9f308095b22020458b2267bce9c787d3ca86950abd1b2dfe0df7bb378506fd38de5945c5f57bfc10f337c2054f63fc0632013c55fa60f5ff4fd13f65b5a86');
INSERT INTO voipbill.run_rows VALUES (2, '\x789cb58ebb0ec2300c457fa5ca5c829d92d2ce7c0262aa3ab8094324882b9496df270f2175808181e1fa71756d9d611077c35ed455eef249414b67c2ca6e968692af1055ea9ed75d32f0d8376dd37500d1e4254cbc789b03141c7bba6d8f5063afb50604f8b4a672224f96f697735c7a286ad36f90ef5c291240e7e941e16ac55857bfc14f053e221ce01ff0a88abeb0ab2dfbf80276a25a52');
INSERT INTO voipbill.run_rows VALUES (3, '\x789cb58ebb0ec2300c457fa5ca5c829d92d2ce7c0262aa3ab8094324882b9496df270f2175808181e1fa71756d9d611077c35ed455eef249414b67c2ca6e968692af1055ea9ed75d32f0d8376dd37500d1e4254cbc789b03141c7bba6d8f5063afb50604f8b4a672224f96f697735c7a286ad36f90ef5c291240e7e941e16ac55857bfc14f053e221ce01ff0a88abeb0ab2dfbf80276a25a52');

INSERT INTO voipbill.run_services VALUES (1, 0, 'mcon', 2, 0, 0.0220);
INSERT INTO voipbill.run_services VALUES (2, 0, 'mcon', 2, 0, 0.0070);
INSERT INTO voipbill.run_services VALUES (3, 0, 'mcon', 2, 0, 0.0070);

INSERT INTO voipbill.runs VALUES (1, '2026-10', '2026-10-01', '2026-10-31', '["mcon"]', 0, 'csv', 'calls', 'CAD', 2, 0, 0.0220, '/tmp/mkv2/pg/oct.csv', 'ac812b3c77e15128f6efd16b1e46db389321b0bff5ec521b4027a807f42bac20', '\x789cad8ec14ec3300c86ef3c8b5b924022c10d6d6f009c2b37f120529a54893b369e1eb7932676e38094d85f94dff2d7a81ea32760ca9819e824d062c9e031a561596280c6581942ace4f9f2c3f451ea798b50951f4c1420973a618adf8213b2ffa430cc950ef104819aaf71de86c7985223bf754908961c1a1c2ad1f5516501086659381c68e5c6e0975a29fbf3eac34bbb9b24016be9bf906d1f3d1f4b9c7b8f60b436503c7782cab84eab4e3dbc69f3ac949c4e3d4a85b2f058962cdeb88a61ba8c69ab9facb54a4be48661871903debfbf82d3e01c3805aa571ab62619d8bdec37f5f017b5f1aa66d43faa6963e53af8ed666edc7e0023939b67', 'committed', '2026-12-08 03:39:33+00', NULL);
INSERT INTO voipbill.runs VALUES (2, '2026-11', '2026-11-01', '2026-11-30', '["mcon"]', 0, 'csv', 'calls', 'CAD', 2, 0, 0.0070, '/tmp/mkv2/pg/nov.csv', '842b7c56c68919520ca129639a09e9c886ae436631e88316a995044ca42c7bd2', '\x789cad8ec16ac3300c86ef7b1625930d2e74b7d1bdc1b673506c65333876b09dacddd34f4ea1acb71d0642fe8c7ea1af70debc65a81c2956e0b340f12982a5108675f50e4aa55cc1f9ccb65e27953f52beec11ce32a1c00e62ca3305ff2d3853b59fec8625f3e4cfe0b8d8ec977d79f42114b6fb2b09c1145d812933df3e590e80609483c3c48d4b05bbe6ccd15e9a4f5dcbc32c0968adffa26a7a6feb96fcd25b02ad94169dad13447de894ea50bf29fd8428d5a1910e69ad635aa3785313a3705d53461d8d31a82472c770a2488e1edf5fe188ad0e08d8a382fd4183707a7ed9d5dd5fd4c69b9ac67f546b310d7766fab7d90f05d39b1b', 'voided', '2026-12-08 03:39:33+00', '2026-12-08 03:39:33+00');
INSERT INTO voipbill.runs VALUES (3, '2026-11', '2026-11-01', '2026-11-30', '["mcon"]', 0, 'csv', 'calls', 'CAD', 2, 0, 0.0070, '/tmp/mkv2/pg/nov2.csv', '842b7c56c68919520ca129639a09e9c886ae436631e88316a995044ca42c7bd2', '\x789cad8ec16ac3300c86ef7b1625930d2e74b7d1bdc1b673506c65333876b09dacddd34f4ea1acb71d0642fe8c7ea1af70debc65a81c2956e0b340f12982a5108675f50e4aa55cc1f9ccb65e27953f52beec11ce32a1c00e62ca3305ff2d3853b59fec8625f3e4cfe0b8d8ec977d79f42114b6fb2b09c1145d812933df3e590e80609483c3c48d4b05bbe6ccd15e9a4f5dcbc32c0968adffa26a7a6feb96fcd25b02ad94169dad13447de894ea50bf29fd8428d5a1910e69ad635aa3785313a3705d53461d8d31a82472c770a2488e1edf5fe188ad0e08d8a382fd4183707a7ed9d5dd5fd4c69b9ac67f546b310d7766fab7d90f05d39b1b', 'committed', '2026-12-08 03:39:33+00', NULL);

INSERT INTO voipbill.void_reasons VALUES (2, 'wrong deck');

INSERT INTO voipbill.voided_calls VALUES ('file', 'nov-a', 'mcon', '2026-11', 1793638800, 'rated', 0.0050, 2);
INSERT INTO voipbill.voided_calls VALUES ('file', 'nov-b', 'mcon', '2026-11', 1795194000, 'rated', 0.0020, 2);

ALTER TABLE ONLY voipbill.calls
    ADD CONSTRAINT calls_pkey PRIMARY KEY (server, xml_cdr_uuid);

ALTER TABLE ONLY voipbill.run_rows
    ADD CONSTRAINT run_rows_pkey PRIMARY KEY (run_id);

ALTER TABLE ONLY voipbill.run_services
    ADD CONSTRAINT run_services_pkey PRIMARY KEY (run_id, service);

ALTER TABLE ONLY voipbill.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY voipbill.void_reasons
    ADD CONSTRAINT void_reasons_pkey PRIMARY KEY (run_id);

CREATE INDEX calls_by_run ON voipbill.calls USING btree (run_id);

ALTER TABLE ONLY voipbill.calls
    ADD CONSTRAINT calls_run_id_fkey FOREIGN KEY (run_id) REFERENCES voipbill.runs(id);

ALTER TABLE ONLY voipbill.run_rows
    ADD CONSTRAINT run_rows_run_id_fkey FOREIGN KEY (run_id) REFERENCES voipbill.runs(id);

ALTER TABLE ONLY voipbill.run_services
    ADD CONSTRAINT run_services_run_id_fkey FOREIGN KEY (run_id) REFERENCES voipbill.runs(id);

ALTER TABLE ONLY voipbill.void_reasons
    ADD CONSTRAINT void_reasons_run_id_fkey FOREIGN KEY (run_id) REFERENCES voipbill.runs(id);

ALTER TABLE ONLY voipbill.voided_calls
    ADD CONSTRAINT voided_calls_run_id_fkey FOREIGN KEY (run_id) REFERENCES voipbill.runs(id);

