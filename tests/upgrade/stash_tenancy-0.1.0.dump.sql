--
-- PostgreSQL database dump
--

\restrict rAyd2bOQng1NOg1hcG1rsfXq5W8xtYC9lTePVMw2oEP27sCzTREvQAaCl34mPuZ

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

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

--
-- Name: stash; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA stash;


ALTER SCHEMA stash OWNER TO postgres;

--
-- Name: tenant_acme; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA tenant_acme;


ALTER SCHEMA tenant_acme OWNER TO postgres;

--
-- Name: tenant_globex; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA tenant_globex;


ALTER SCHEMA tenant_globex OWNER TO postgres;

--
-- Name: tenant_initech; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA tenant_initech;


ALTER SCHEMA tenant_initech OWNER TO postgres;

--
-- Name: stash_tenancy; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS stash_tenancy WITH SCHEMA stash;


--
-- Name: EXTENSION stash_tenancy; Type: COMMENT; Schema: -; Owner: 
--

COMMENT ON EXTENSION stash_tenancy IS 'Schema-per-tenant PostgreSQL: tenant registry, migrations and pooler-safe tenant context';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: countries; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.countries (
    code text NOT NULL,
    name text NOT NULL
);


ALTER TABLE public.countries OWNER TO postgres;

--
-- Name: blog_posts; Type: TABLE; Schema: tenant_acme; Owner: postgres
--

CREATE TABLE tenant_acme.blog_posts (
    id bigint NOT NULL,
    creator_id bigint,
    slug text NOT NULL,
    title text NOT NULL,
    body text DEFAULT ''::text NOT NULL,
    published_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_acme.blog_posts OWNER TO postgres;

--
-- Name: blog_posts_id_seq; Type: SEQUENCE; Schema: tenant_acme; Owner: postgres
--

CREATE SEQUENCE tenant_acme.blog_posts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_acme.blog_posts_id_seq OWNER TO postgres;

--
-- Name: blog_posts_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_acme; Owner: postgres
--

ALTER SEQUENCE tenant_acme.blog_posts_id_seq OWNED BY tenant_acme.blog_posts.id;


--
-- Name: creators; Type: TABLE; Schema: tenant_acme; Owner: postgres
--

CREATE TABLE tenant_acme.creators (
    id bigint NOT NULL,
    handle text NOT NULL,
    display_name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_acme.creators OWNER TO postgres;

--
-- Name: creators_id_seq; Type: SEQUENCE; Schema: tenant_acme; Owner: postgres
--

CREATE SEQUENCE tenant_acme.creators_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_acme.creators_id_seq OWNER TO postgres;

--
-- Name: creators_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_acme; Owner: postgres
--

ALTER SEQUENCE tenant_acme.creators_id_seq OWNED BY tenant_acme.creators.id;


--
-- Name: customers; Type: TABLE; Schema: tenant_acme; Owner: postgres
--

CREATE TABLE tenant_acme.customers (
    id bigint NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_acme.customers OWNER TO postgres;

--
-- Name: customers_id_seq; Type: SEQUENCE; Schema: tenant_acme; Owner: postgres
--

CREATE SEQUENCE tenant_acme.customers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_acme.customers_id_seq OWNER TO postgres;

--
-- Name: customers_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_acme; Owner: postgres
--

ALTER SEQUENCE tenant_acme.customers_id_seq OWNED BY tenant_acme.customers.id;


--
-- Name: orders; Type: TABLE; Schema: tenant_acme; Owner: postgres
--

CREATE TABLE tenant_acme.orders (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    total_cents integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    note text,
    discount_cents integer DEFAULT 0 NOT NULL,
    CONSTRAINT orders_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'paid'::text, 'shipped'::text, 'refunded'::text]))),
    CONSTRAINT orders_total_cents_check CHECK ((total_cents >= 0))
);


ALTER TABLE tenant_acme.orders OWNER TO postgres;

--
-- Name: orders_id_seq; Type: SEQUENCE; Schema: tenant_acme; Owner: postgres
--

CREATE SEQUENCE tenant_acme.orders_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_acme.orders_id_seq OWNER TO postgres;

--
-- Name: orders_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_acme; Owner: postgres
--

ALTER SEQUENCE tenant_acme.orders_id_seq OWNED BY tenant_acme.orders.id;


--
-- Name: payouts; Type: TABLE; Schema: tenant_acme; Owner: postgres
--

CREATE TABLE tenant_acme.payouts (
    id bigint NOT NULL,
    creator_id bigint NOT NULL,
    amount_cents integer NOT NULL,
    paid_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payouts_amount_cents_check CHECK ((amount_cents > 0))
);


ALTER TABLE tenant_acme.payouts OWNER TO postgres;

--
-- Name: payouts_id_seq; Type: SEQUENCE; Schema: tenant_acme; Owner: postgres
--

CREATE SEQUENCE tenant_acme.payouts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_acme.payouts_id_seq OWNER TO postgres;

--
-- Name: payouts_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_acme; Owner: postgres
--

ALTER SEQUENCE tenant_acme.payouts_id_seq OWNED BY tenant_acme.payouts.id;


--
-- Name: products; Type: TABLE; Schema: tenant_acme; Owner: postgres
--

CREATE TABLE tenant_acme.products (
    id bigint NOT NULL,
    creator_id bigint NOT NULL,
    sku text NOT NULL,
    title text NOT NULL,
    price_cents integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT products_price_cents_check CHECK ((price_cents >= 0))
);


ALTER TABLE tenant_acme.products OWNER TO postgres;

--
-- Name: products_id_seq; Type: SEQUENCE; Schema: tenant_acme; Owner: postgres
--

CREATE SEQUENCE tenant_acme.products_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_acme.products_id_seq OWNER TO postgres;

--
-- Name: products_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_acme; Owner: postgres
--

ALTER SEQUENCE tenant_acme.products_id_seq OWNED BY tenant_acme.products.id;


--
-- Name: reviews; Type: TABLE; Schema: tenant_acme; Owner: postgres
--

CREATE TABLE tenant_acme.reviews (
    id bigint NOT NULL,
    product_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    rating smallint NOT NULL,
    body text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT reviews_rating_check CHECK (((rating >= 1) AND (rating <= 5)))
);


ALTER TABLE tenant_acme.reviews OWNER TO postgres;

--
-- Name: reviews_id_seq; Type: SEQUENCE; Schema: tenant_acme; Owner: postgres
--

CREATE SEQUENCE tenant_acme.reviews_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_acme.reviews_id_seq OWNER TO postgres;

--
-- Name: reviews_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_acme; Owner: postgres
--

ALTER SEQUENCE tenant_acme.reviews_id_seq OWNED BY tenant_acme.reviews.id;


--
-- Name: blog_posts; Type: TABLE; Schema: tenant_globex; Owner: postgres
--

CREATE TABLE tenant_globex.blog_posts (
    id bigint NOT NULL,
    creator_id bigint,
    slug text NOT NULL,
    title text NOT NULL,
    body text DEFAULT ''::text NOT NULL,
    published_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_globex.blog_posts OWNER TO postgres;

--
-- Name: blog_posts_id_seq; Type: SEQUENCE; Schema: tenant_globex; Owner: postgres
--

CREATE SEQUENCE tenant_globex.blog_posts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_globex.blog_posts_id_seq OWNER TO postgres;

--
-- Name: blog_posts_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_globex; Owner: postgres
--

ALTER SEQUENCE tenant_globex.blog_posts_id_seq OWNED BY tenant_globex.blog_posts.id;


--
-- Name: creators; Type: TABLE; Schema: tenant_globex; Owner: postgres
--

CREATE TABLE tenant_globex.creators (
    id bigint NOT NULL,
    handle text NOT NULL,
    display_name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_globex.creators OWNER TO postgres;

--
-- Name: creators_id_seq; Type: SEQUENCE; Schema: tenant_globex; Owner: postgres
--

CREATE SEQUENCE tenant_globex.creators_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_globex.creators_id_seq OWNER TO postgres;

--
-- Name: creators_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_globex; Owner: postgres
--

ALTER SEQUENCE tenant_globex.creators_id_seq OWNED BY tenant_globex.creators.id;


--
-- Name: customers; Type: TABLE; Schema: tenant_globex; Owner: postgres
--

CREATE TABLE tenant_globex.customers (
    id bigint NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_globex.customers OWNER TO postgres;

--
-- Name: customers_id_seq; Type: SEQUENCE; Schema: tenant_globex; Owner: postgres
--

CREATE SEQUENCE tenant_globex.customers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_globex.customers_id_seq OWNER TO postgres;

--
-- Name: customers_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_globex; Owner: postgres
--

ALTER SEQUENCE tenant_globex.customers_id_seq OWNED BY tenant_globex.customers.id;


--
-- Name: orders; Type: TABLE; Schema: tenant_globex; Owner: postgres
--

CREATE TABLE tenant_globex.orders (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    total_cents integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    note text,
    discount_cents integer,
    CONSTRAINT orders_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'paid'::text, 'shipped'::text, 'refunded'::text]))),
    CONSTRAINT orders_total_cents_check CHECK ((total_cents >= 0))
);


ALTER TABLE tenant_globex.orders OWNER TO postgres;

--
-- Name: orders_id_seq; Type: SEQUENCE; Schema: tenant_globex; Owner: postgres
--

CREATE SEQUENCE tenant_globex.orders_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_globex.orders_id_seq OWNER TO postgres;

--
-- Name: orders_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_globex; Owner: postgres
--

ALTER SEQUENCE tenant_globex.orders_id_seq OWNED BY tenant_globex.orders.id;


--
-- Name: payouts; Type: TABLE; Schema: tenant_globex; Owner: postgres
--

CREATE TABLE tenant_globex.payouts (
    id bigint NOT NULL,
    creator_id bigint NOT NULL,
    amount_cents integer NOT NULL,
    paid_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payouts_amount_cents_check CHECK ((amount_cents > 0))
);


ALTER TABLE tenant_globex.payouts OWNER TO postgres;

--
-- Name: payouts_id_seq; Type: SEQUENCE; Schema: tenant_globex; Owner: postgres
--

CREATE SEQUENCE tenant_globex.payouts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_globex.payouts_id_seq OWNER TO postgres;

--
-- Name: payouts_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_globex; Owner: postgres
--

ALTER SEQUENCE tenant_globex.payouts_id_seq OWNED BY tenant_globex.payouts.id;


--
-- Name: products; Type: TABLE; Schema: tenant_globex; Owner: postgres
--

CREATE TABLE tenant_globex.products (
    id bigint NOT NULL,
    creator_id bigint NOT NULL,
    sku text NOT NULL,
    title text NOT NULL,
    price_cents integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT products_price_cents_check CHECK ((price_cents >= 0))
);


ALTER TABLE tenant_globex.products OWNER TO postgres;

--
-- Name: products_id_seq; Type: SEQUENCE; Schema: tenant_globex; Owner: postgres
--

CREATE SEQUENCE tenant_globex.products_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_globex.products_id_seq OWNER TO postgres;

--
-- Name: products_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_globex; Owner: postgres
--

ALTER SEQUENCE tenant_globex.products_id_seq OWNED BY tenant_globex.products.id;


--
-- Name: reviews; Type: TABLE; Schema: tenant_globex; Owner: postgres
--

CREATE TABLE tenant_globex.reviews (
    id bigint NOT NULL,
    product_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    rating smallint NOT NULL,
    body text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT reviews_rating_check CHECK (((rating >= 1) AND (rating <= 5)))
);


ALTER TABLE tenant_globex.reviews OWNER TO postgres;

--
-- Name: reviews_id_seq; Type: SEQUENCE; Schema: tenant_globex; Owner: postgres
--

CREATE SEQUENCE tenant_globex.reviews_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_globex.reviews_id_seq OWNER TO postgres;

--
-- Name: reviews_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_globex; Owner: postgres
--

ALTER SEQUENCE tenant_globex.reviews_id_seq OWNED BY tenant_globex.reviews.id;


--
-- Name: blog_posts; Type: TABLE; Schema: tenant_initech; Owner: postgres
--

CREATE TABLE tenant_initech.blog_posts (
    id bigint NOT NULL,
    creator_id bigint,
    slug text NOT NULL,
    title text NOT NULL,
    body text DEFAULT ''::text NOT NULL,
    published_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_initech.blog_posts OWNER TO postgres;

--
-- Name: blog_posts_id_seq; Type: SEQUENCE; Schema: tenant_initech; Owner: postgres
--

CREATE SEQUENCE tenant_initech.blog_posts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_initech.blog_posts_id_seq OWNER TO postgres;

--
-- Name: blog_posts_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_initech; Owner: postgres
--

ALTER SEQUENCE tenant_initech.blog_posts_id_seq OWNED BY tenant_initech.blog_posts.id;


--
-- Name: creators; Type: TABLE; Schema: tenant_initech; Owner: postgres
--

CREATE TABLE tenant_initech.creators (
    id bigint NOT NULL,
    handle text NOT NULL,
    display_name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_initech.creators OWNER TO postgres;

--
-- Name: creators_id_seq; Type: SEQUENCE; Schema: tenant_initech; Owner: postgres
--

CREATE SEQUENCE tenant_initech.creators_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_initech.creators_id_seq OWNER TO postgres;

--
-- Name: creators_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_initech; Owner: postgres
--

ALTER SEQUENCE tenant_initech.creators_id_seq OWNED BY tenant_initech.creators.id;


--
-- Name: customers; Type: TABLE; Schema: tenant_initech; Owner: postgres
--

CREATE TABLE tenant_initech.customers (
    id bigint NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE tenant_initech.customers OWNER TO postgres;

--
-- Name: customers_id_seq; Type: SEQUENCE; Schema: tenant_initech; Owner: postgres
--

CREATE SEQUENCE tenant_initech.customers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_initech.customers_id_seq OWNER TO postgres;

--
-- Name: customers_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_initech; Owner: postgres
--

ALTER SEQUENCE tenant_initech.customers_id_seq OWNED BY tenant_initech.customers.id;


--
-- Name: orders; Type: TABLE; Schema: tenant_initech; Owner: postgres
--

CREATE TABLE tenant_initech.orders (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    total_cents integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    note text,
    discount_cents integer DEFAULT 0 NOT NULL,
    CONSTRAINT orders_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'paid'::text, 'shipped'::text, 'refunded'::text]))),
    CONSTRAINT orders_total_cents_check CHECK ((total_cents >= 0))
);


ALTER TABLE tenant_initech.orders OWNER TO postgres;

--
-- Name: orders_id_seq; Type: SEQUENCE; Schema: tenant_initech; Owner: postgres
--

CREATE SEQUENCE tenant_initech.orders_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_initech.orders_id_seq OWNER TO postgres;

--
-- Name: orders_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_initech; Owner: postgres
--

ALTER SEQUENCE tenant_initech.orders_id_seq OWNED BY tenant_initech.orders.id;


--
-- Name: payouts; Type: TABLE; Schema: tenant_initech; Owner: postgres
--

CREATE TABLE tenant_initech.payouts (
    id bigint NOT NULL,
    creator_id bigint NOT NULL,
    amount_cents integer NOT NULL,
    paid_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT payouts_amount_cents_check CHECK ((amount_cents > 0))
);


ALTER TABLE tenant_initech.payouts OWNER TO postgres;

--
-- Name: payouts_id_seq; Type: SEQUENCE; Schema: tenant_initech; Owner: postgres
--

CREATE SEQUENCE tenant_initech.payouts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_initech.payouts_id_seq OWNER TO postgres;

--
-- Name: payouts_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_initech; Owner: postgres
--

ALTER SEQUENCE tenant_initech.payouts_id_seq OWNED BY tenant_initech.payouts.id;


--
-- Name: products; Type: TABLE; Schema: tenant_initech; Owner: postgres
--

CREATE TABLE tenant_initech.products (
    id bigint NOT NULL,
    creator_id bigint NOT NULL,
    sku text NOT NULL,
    title text NOT NULL,
    price_cents integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT products_price_cents_check CHECK ((price_cents >= 0))
);


ALTER TABLE tenant_initech.products OWNER TO postgres;

--
-- Name: products_id_seq; Type: SEQUENCE; Schema: tenant_initech; Owner: postgres
--

CREATE SEQUENCE tenant_initech.products_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_initech.products_id_seq OWNER TO postgres;

--
-- Name: products_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_initech; Owner: postgres
--

ALTER SEQUENCE tenant_initech.products_id_seq OWNED BY tenant_initech.products.id;


--
-- Name: reviews; Type: TABLE; Schema: tenant_initech; Owner: postgres
--

CREATE TABLE tenant_initech.reviews (
    id bigint NOT NULL,
    product_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    rating smallint NOT NULL,
    body text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT reviews_rating_check CHECK (((rating >= 1) AND (rating <= 5)))
);


ALTER TABLE tenant_initech.reviews OWNER TO postgres;

--
-- Name: reviews_id_seq; Type: SEQUENCE; Schema: tenant_initech; Owner: postgres
--

CREATE SEQUENCE tenant_initech.reviews_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE tenant_initech.reviews_id_seq OWNER TO postgres;

--
-- Name: reviews_id_seq; Type: SEQUENCE OWNED BY; Schema: tenant_initech; Owner: postgres
--

ALTER SEQUENCE tenant_initech.reviews_id_seq OWNED BY tenant_initech.reviews.id;


--
-- Name: blog_posts id; Type: DEFAULT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.blog_posts ALTER COLUMN id SET DEFAULT nextval('tenant_acme.blog_posts_id_seq'::regclass);


--
-- Name: creators id; Type: DEFAULT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.creators ALTER COLUMN id SET DEFAULT nextval('tenant_acme.creators_id_seq'::regclass);


--
-- Name: customers id; Type: DEFAULT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.customers ALTER COLUMN id SET DEFAULT nextval('tenant_acme.customers_id_seq'::regclass);


--
-- Name: orders id; Type: DEFAULT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.orders ALTER COLUMN id SET DEFAULT nextval('tenant_acme.orders_id_seq'::regclass);


--
-- Name: payouts id; Type: DEFAULT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.payouts ALTER COLUMN id SET DEFAULT nextval('tenant_acme.payouts_id_seq'::regclass);


--
-- Name: products id; Type: DEFAULT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.products ALTER COLUMN id SET DEFAULT nextval('tenant_acme.products_id_seq'::regclass);


--
-- Name: reviews id; Type: DEFAULT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.reviews ALTER COLUMN id SET DEFAULT nextval('tenant_acme.reviews_id_seq'::regclass);


--
-- Name: blog_posts id; Type: DEFAULT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.blog_posts ALTER COLUMN id SET DEFAULT nextval('tenant_globex.blog_posts_id_seq'::regclass);


--
-- Name: creators id; Type: DEFAULT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.creators ALTER COLUMN id SET DEFAULT nextval('tenant_globex.creators_id_seq'::regclass);


--
-- Name: customers id; Type: DEFAULT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.customers ALTER COLUMN id SET DEFAULT nextval('tenant_globex.customers_id_seq'::regclass);


--
-- Name: orders id; Type: DEFAULT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.orders ALTER COLUMN id SET DEFAULT nextval('tenant_globex.orders_id_seq'::regclass);


--
-- Name: payouts id; Type: DEFAULT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.payouts ALTER COLUMN id SET DEFAULT nextval('tenant_globex.payouts_id_seq'::regclass);


--
-- Name: products id; Type: DEFAULT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.products ALTER COLUMN id SET DEFAULT nextval('tenant_globex.products_id_seq'::regclass);


--
-- Name: reviews id; Type: DEFAULT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.reviews ALTER COLUMN id SET DEFAULT nextval('tenant_globex.reviews_id_seq'::regclass);


--
-- Name: blog_posts id; Type: DEFAULT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.blog_posts ALTER COLUMN id SET DEFAULT nextval('tenant_initech.blog_posts_id_seq'::regclass);


--
-- Name: creators id; Type: DEFAULT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.creators ALTER COLUMN id SET DEFAULT nextval('tenant_initech.creators_id_seq'::regclass);


--
-- Name: customers id; Type: DEFAULT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.customers ALTER COLUMN id SET DEFAULT nextval('tenant_initech.customers_id_seq'::regclass);


--
-- Name: orders id; Type: DEFAULT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.orders ALTER COLUMN id SET DEFAULT nextval('tenant_initech.orders_id_seq'::regclass);


--
-- Name: payouts id; Type: DEFAULT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.payouts ALTER COLUMN id SET DEFAULT nextval('tenant_initech.payouts_id_seq'::regclass);


--
-- Name: products id; Type: DEFAULT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.products ALTER COLUMN id SET DEFAULT nextval('tenant_initech.products_id_seq'::regclass);


--
-- Name: reviews id; Type: DEFAULT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.reviews ALTER COLUMN id SET DEFAULT nextval('tenant_initech.reviews_id_seq'::regclass);


--
-- Data for Name: countries; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.countries (code, name) FROM stdin;
DE	Germany
FR	France
\.


--
-- Data for Name: events; Type: TABLE DATA; Schema: stash; Owner: postgres
--

COPY stash.events (id, at, tenant_id, slug, action, detail, actor) FROM stdin;
1	2026-11-22 06:46:29.744982+00	\N	\N	migrated	{"to": 100, "from": 0, "scope": "shared", "target": "public", "versions": [100]}	postgres
2	2026-11-22 06:46:29.76774+00	01a20201-9c71-700e-afc7-2a11824b4536	acme	created	{"schema": "tenant_acme", "version": 2}	postgres
3	2026-11-22 06:46:29.790267+00	01a20201-9c88-7495-9d20-6bd1093ba233	globex	created	{"schema": "tenant_globex", "version": 2}	postgres
4	2026-11-22 06:46:29.814005+00	01a20201-9c9e-7426-9d71-9d7982956e9d	initech	created	{"schema": "tenant_initech", "version": 2}	postgres
5	2026-11-22 06:46:29.81786+00	01a20201-9c71-700e-afc7-2a11824b4536	acme	migrated	{"to": 3, "from": 2, "scope": "tenant", "target": "acme", "versions": [3]}	postgres
6	2026-11-22 06:46:29.818582+00	01a20201-9c88-7495-9d20-6bd1093ba233	globex	migration_failed	{"scope": "tenant", "target": "globex", "message": "column \\"discount_cents\\" of relation \\"orders\\" already exists", "version": 3, "sqlstate": "42701"}	postgres
7	2026-11-22 06:46:29.819137+00	01a20201-9c9e-7426-9d71-9d7982956e9d	initech	migrated	{"to": 3, "from": 2, "scope": "tenant", "target": "initech", "versions": [3]}	postgres
8	2026-11-22 06:46:29.819601+00	01a20201-9c9e-7426-9d71-9d7982956e9d	initech	suspended	{}	postgres
\.


--
-- Data for Name: migrations; Type: TABLE DATA; Schema: stash; Owner: postgres
--

COPY stash.migrations (version, name, scope, up_sql, down_sql, checksum, created_at) FROM stdin;
1	commerce	tenant	-- A commerce template, as one tenant migration.\nCREATE TABLE customers (\n    id          bigserial PRIMARY KEY,\n    email       text NOT NULL UNIQUE,\n    name        text NOT NULL,\n    created_at  timestamptz NOT NULL DEFAULT now(),\n    updated_at  timestamptz NOT NULL DEFAULT now()\n);\nCREATE TABLE creators (\n    id          bigserial PRIMARY KEY,\n    handle      text NOT NULL UNIQUE,\n    display_name text NOT NULL,\n    created_at  timestamptz NOT NULL DEFAULT now(),\n    updated_at  timestamptz NOT NULL DEFAULT now()\n);\nCREATE TABLE products (\n    id          bigserial PRIMARY KEY,\n    creator_id  bigint NOT NULL REFERENCES creators (id),\n    sku         text NOT NULL UNIQUE,\n    title       text NOT NULL,\n    price_cents integer NOT NULL CHECK (price_cents >= 0),\n    created_at  timestamptz NOT NULL DEFAULT now(),\n    updated_at  timestamptz NOT NULL DEFAULT now()\n);\nCREATE TABLE orders (\n    id          bigserial PRIMARY KEY,\n    customer_id bigint NOT NULL REFERENCES customers (id),\n    status      text NOT NULL DEFAULT 'pending'\n                CHECK (status IN ('pending', 'paid', 'shipped', 'refunded')),\n    total_cents integer NOT NULL DEFAULT 0 CHECK (total_cents >= 0),\n    created_at  timestamptz NOT NULL DEFAULT now(),\n    updated_at  timestamptz NOT NULL DEFAULT now()\n);\nCREATE INDEX orders_customer_id_idx ON orders (customer_id);\nCREATE TABLE payouts (\n    id           bigserial PRIMARY KEY,\n    creator_id   bigint NOT NULL REFERENCES creators (id),\n    amount_cents integer NOT NULL CHECK (amount_cents > 0),\n    paid_at      timestamptz,\n    created_at   timestamptz NOT NULL DEFAULT now(),\n    updated_at   timestamptz NOT NULL DEFAULT now()\n);\nCREATE TABLE reviews (\n    id          bigserial PRIMARY KEY,\n    product_id  bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,\n    customer_id bigint NOT NULL REFERENCES customers (id),\n    rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),\n    body        text,\n    created_at  timestamptz NOT NULL DEFAULT now(),\n    updated_at  timestamptz NOT NULL DEFAULT now(),\n    UNIQUE (product_id, customer_id)\n);\nCREATE TABLE blog_posts (\n    id           bigserial PRIMARY KEY,\n    creator_id   bigint REFERENCES creators (id),\n    slug         text NOT NULL UNIQUE,\n    title        text NOT NULL,\n    body         text NOT NULL DEFAULT '',\n    published_at timestamptz,\n    created_at   timestamptz NOT NULL DEFAULT now(),\n    updated_at   timestamptz NOT NULL DEFAULT now()\n);	\N	522bb09395f0f87bc3e9cfc2d49a19b1ba2572a963d9550e90d4bb6b0eba1d8d	2026-11-22 06:46:29.739585+00
2	orders_note	tenant	ALTER TABLE orders ADD COLUMN note text	ALTER TABLE orders DROP COLUMN note	c8b0d159f157a61edb7a054bc01ac8d314a4d84d72216a549d656a92f6d17673	2026-11-22 06:46:29.741248+00
100	countries	shared	CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL)	DROP TABLE countries	b2cc21daf0dbd5260d094927524a2c9f65b3302daf952d8f10df70b589917d78	2026-11-22 06:46:29.741456+00
3	orders_discount	tenant	ALTER TABLE orders ADD COLUMN discount_cents integer NOT NULL DEFAULT 0	ALTER TABLE orders DROP COLUMN discount_cents	080247e1dc701a0155dd2349808d75b0289be9bb905a03a7f6e13d4205363558	2026-11-22 06:46:29.816549+00
\.


--
-- Data for Name: tenants; Type: TABLE DATA; Schema: stash; Owner: postgres
--

COPY stash.tenants (id, slug, name, schema_name, status, settings, created_at, updated_at) FROM stdin;
01a20201-9c71-700e-afc7-2a11824b4536	acme	Acme Corp	tenant_acme	active	{"plan": "pro"}	2026-11-22 06:46:29.745402+00	2026-11-22 06:46:29.745402+00
01a20201-9c88-7495-9d20-6bd1093ba233	globex	Globex	tenant_globex	active	{}	2026-11-22 06:46:29.768142+00	2026-11-22 06:46:29.768142+00
01a20201-9c9e-7426-9d71-9d7982956e9d	initech	initech	tenant_initech	suspended	{}	2026-11-22 06:46:29.790624+00	2026-11-22 06:46:29.81928+00
\.


--
-- Data for Name: ledger; Type: TABLE DATA; Schema: stash; Owner: postgres
--

COPY stash.ledger (tenant_id, version, checksum, applied_at, duration_ms) FROM stdin;
\N	100	b2cc21daf0dbd5260d094927524a2c9f65b3302daf952d8f10df70b589917d78	2026-11-22 06:46:29.744522+00	2.1121
01a20201-9c71-700e-afc7-2a11824b4536	1	522bb09395f0f87bc3e9cfc2d49a19b1ba2572a963d9550e90d4bb6b0eba1d8d	2026-11-22 06:46:29.766883+00	20.40272
01a20201-9c71-700e-afc7-2a11824b4536	2	c8b0d159f157a61edb7a054bc01ac8d314a4d84d72216a549d656a92f6d17673	2026-11-22 06:46:29.767286+00	0.09107599999999999
01a20201-9c88-7495-9d20-6bd1093ba233	1	522bb09395f0f87bc3e9cfc2d49a19b1ba2572a963d9550e90d4bb6b0eba1d8d	2026-11-22 06:46:29.789532+00	20.573245
01a20201-9c88-7495-9d20-6bd1093ba233	2	c8b0d159f157a61edb7a054bc01ac8d314a4d84d72216a549d656a92f6d17673	2026-11-22 06:46:29.789889+00	0.104245
01a20201-9c9e-7426-9d71-9d7982956e9d	1	522bb09395f0f87bc3e9cfc2d49a19b1ba2572a963d9550e90d4bb6b0eba1d8d	2026-11-22 06:46:29.813243+00	21.802938
01a20201-9c9e-7426-9d71-9d7982956e9d	2	c8b0d159f157a61edb7a054bc01ac8d314a4d84d72216a549d656a92f6d17673	2026-11-22 06:46:29.813631+00	0.08749100000000001
01a20201-9c71-700e-afc7-2a11824b4536	3	080247e1dc701a0155dd2349808d75b0289be9bb905a03a7f6e13d4205363558	2026-11-22 06:46:29.817661+00	0.205697
01a20201-9c9e-7426-9d71-9d7982956e9d	3	080247e1dc701a0155dd2349808d75b0289be9bb905a03a7f6e13d4205363558	2026-11-22 06:46:29.819039+00	0.189192
\.


--
-- Data for Name: migration_failures; Type: TABLE DATA; Schema: stash; Owner: postgres
--

COPY stash.migration_failures (tenant_id, version, sqlstate, message, at) FROM stdin;
01a20201-9c88-7495-9d20-6bd1093ba233	3	42701	column "discount_cents" of relation "orders" already exists	2026-11-22 06:46:29.818412+00
\.


--
-- Data for Name: blog_posts; Type: TABLE DATA; Schema: tenant_acme; Owner: postgres
--

COPY tenant_acme.blog_posts (id, creator_id, slug, title, body, published_at, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: creators; Type: TABLE DATA; Schema: tenant_acme; Owner: postgres
--

COPY tenant_acme.creators (id, handle, display_name, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: customers; Type: TABLE DATA; Schema: tenant_acme; Owner: postgres
--

COPY tenant_acme.customers (id, email, name, created_at, updated_at) FROM stdin;
1	ann@acme.test	Ann	2026-11-22 06:46:29.814409+00	2026-11-22 06:46:29.814409+00
2	bob@acme.test	Bob	2026-11-22 06:46:29.814409+00	2026-11-22 06:46:29.814409+00
\.


--
-- Data for Name: orders; Type: TABLE DATA; Schema: tenant_acme; Owner: postgres
--

COPY tenant_acme.orders (id, customer_id, status, total_cents, created_at, updated_at, note, discount_cents) FROM stdin;
1	1	paid	1250	2026-11-22 06:46:29.814409+00	2026-11-22 06:46:29.814409+00	first	0
\.


--
-- Data for Name: payouts; Type: TABLE DATA; Schema: tenant_acme; Owner: postgres
--

COPY tenant_acme.payouts (id, creator_id, amount_cents, paid_at, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: products; Type: TABLE DATA; Schema: tenant_acme; Owner: postgres
--

COPY tenant_acme.products (id, creator_id, sku, title, price_cents, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: reviews; Type: TABLE DATA; Schema: tenant_acme; Owner: postgres
--

COPY tenant_acme.reviews (id, product_id, customer_id, rating, body, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: blog_posts; Type: TABLE DATA; Schema: tenant_globex; Owner: postgres
--

COPY tenant_globex.blog_posts (id, creator_id, slug, title, body, published_at, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: creators; Type: TABLE DATA; Schema: tenant_globex; Owner: postgres
--

COPY tenant_globex.creators (id, handle, display_name, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: customers; Type: TABLE DATA; Schema: tenant_globex; Owner: postgres
--

COPY tenant_globex.customers (id, email, name, created_at, updated_at) FROM stdin;
1	gus@globex.test	Gus	2026-11-22 06:46:29.815642+00	2026-11-22 06:46:29.815642+00
\.


--
-- Data for Name: orders; Type: TABLE DATA; Schema: tenant_globex; Owner: postgres
--

COPY tenant_globex.orders (id, customer_id, status, total_cents, created_at, updated_at, note, discount_cents) FROM stdin;
1	1	pending	990	2026-11-22 06:46:29.815642+00	2026-11-22 06:46:29.815642+00	\N	\N
\.


--
-- Data for Name: payouts; Type: TABLE DATA; Schema: tenant_globex; Owner: postgres
--

COPY tenant_globex.payouts (id, creator_id, amount_cents, paid_at, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: products; Type: TABLE DATA; Schema: tenant_globex; Owner: postgres
--

COPY tenant_globex.products (id, creator_id, sku, title, price_cents, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: reviews; Type: TABLE DATA; Schema: tenant_globex; Owner: postgres
--

COPY tenant_globex.reviews (id, product_id, customer_id, rating, body, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: blog_posts; Type: TABLE DATA; Schema: tenant_initech; Owner: postgres
--

COPY tenant_initech.blog_posts (id, creator_id, slug, title, body, published_at, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: creators; Type: TABLE DATA; Schema: tenant_initech; Owner: postgres
--

COPY tenant_initech.creators (id, handle, display_name, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: customers; Type: TABLE DATA; Schema: tenant_initech; Owner: postgres
--

COPY tenant_initech.customers (id, email, name, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: orders; Type: TABLE DATA; Schema: tenant_initech; Owner: postgres
--

COPY tenant_initech.orders (id, customer_id, status, total_cents, created_at, updated_at, note, discount_cents) FROM stdin;
\.


--
-- Data for Name: payouts; Type: TABLE DATA; Schema: tenant_initech; Owner: postgres
--

COPY tenant_initech.payouts (id, creator_id, amount_cents, paid_at, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: products; Type: TABLE DATA; Schema: tenant_initech; Owner: postgres
--

COPY tenant_initech.products (id, creator_id, sku, title, price_cents, created_at, updated_at) FROM stdin;
\.


--
-- Data for Name: reviews; Type: TABLE DATA; Schema: tenant_initech; Owner: postgres
--

COPY tenant_initech.reviews (id, product_id, customer_id, rating, body, created_at, updated_at) FROM stdin;
\.


--
-- Name: events_id_seq; Type: SEQUENCE SET; Schema: stash; Owner: postgres
--

SELECT pg_catalog.setval('stash.events_id_seq', 8, true);


--
-- Name: blog_posts_id_seq; Type: SEQUENCE SET; Schema: tenant_acme; Owner: postgres
--

SELECT pg_catalog.setval('tenant_acme.blog_posts_id_seq', 1, false);


--
-- Name: creators_id_seq; Type: SEQUENCE SET; Schema: tenant_acme; Owner: postgres
--

SELECT pg_catalog.setval('tenant_acme.creators_id_seq', 1, false);


--
-- Name: customers_id_seq; Type: SEQUENCE SET; Schema: tenant_acme; Owner: postgres
--

SELECT pg_catalog.setval('tenant_acme.customers_id_seq', 2, true);


--
-- Name: orders_id_seq; Type: SEQUENCE SET; Schema: tenant_acme; Owner: postgres
--

SELECT pg_catalog.setval('tenant_acme.orders_id_seq', 1, true);


--
-- Name: payouts_id_seq; Type: SEQUENCE SET; Schema: tenant_acme; Owner: postgres
--

SELECT pg_catalog.setval('tenant_acme.payouts_id_seq', 1, false);


--
-- Name: products_id_seq; Type: SEQUENCE SET; Schema: tenant_acme; Owner: postgres
--

SELECT pg_catalog.setval('tenant_acme.products_id_seq', 1, false);


--
-- Name: reviews_id_seq; Type: SEQUENCE SET; Schema: tenant_acme; Owner: postgres
--

SELECT pg_catalog.setval('tenant_acme.reviews_id_seq', 1, false);


--
-- Name: blog_posts_id_seq; Type: SEQUENCE SET; Schema: tenant_globex; Owner: postgres
--

SELECT pg_catalog.setval('tenant_globex.blog_posts_id_seq', 1, false);


--
-- Name: creators_id_seq; Type: SEQUENCE SET; Schema: tenant_globex; Owner: postgres
--

SELECT pg_catalog.setval('tenant_globex.creators_id_seq', 1, false);


--
-- Name: customers_id_seq; Type: SEQUENCE SET; Schema: tenant_globex; Owner: postgres
--

SELECT pg_catalog.setval('tenant_globex.customers_id_seq', 1, true);


--
-- Name: orders_id_seq; Type: SEQUENCE SET; Schema: tenant_globex; Owner: postgres
--

SELECT pg_catalog.setval('tenant_globex.orders_id_seq', 1, true);


--
-- Name: payouts_id_seq; Type: SEQUENCE SET; Schema: tenant_globex; Owner: postgres
--

SELECT pg_catalog.setval('tenant_globex.payouts_id_seq', 1, false);


--
-- Name: products_id_seq; Type: SEQUENCE SET; Schema: tenant_globex; Owner: postgres
--

SELECT pg_catalog.setval('tenant_globex.products_id_seq', 1, false);


--
-- Name: reviews_id_seq; Type: SEQUENCE SET; Schema: tenant_globex; Owner: postgres
--

SELECT pg_catalog.setval('tenant_globex.reviews_id_seq', 1, false);


--
-- Name: blog_posts_id_seq; Type: SEQUENCE SET; Schema: tenant_initech; Owner: postgres
--

SELECT pg_catalog.setval('tenant_initech.blog_posts_id_seq', 1, false);


--
-- Name: creators_id_seq; Type: SEQUENCE SET; Schema: tenant_initech; Owner: postgres
--

SELECT pg_catalog.setval('tenant_initech.creators_id_seq', 1, false);


--
-- Name: customers_id_seq; Type: SEQUENCE SET; Schema: tenant_initech; Owner: postgres
--

SELECT pg_catalog.setval('tenant_initech.customers_id_seq', 1, false);


--
-- Name: orders_id_seq; Type: SEQUENCE SET; Schema: tenant_initech; Owner: postgres
--

SELECT pg_catalog.setval('tenant_initech.orders_id_seq', 1, false);


--
-- Name: payouts_id_seq; Type: SEQUENCE SET; Schema: tenant_initech; Owner: postgres
--

SELECT pg_catalog.setval('tenant_initech.payouts_id_seq', 1, false);


--
-- Name: products_id_seq; Type: SEQUENCE SET; Schema: tenant_initech; Owner: postgres
--

SELECT pg_catalog.setval('tenant_initech.products_id_seq', 1, false);


--
-- Name: reviews_id_seq; Type: SEQUENCE SET; Schema: tenant_initech; Owner: postgres
--

SELECT pg_catalog.setval('tenant_initech.reviews_id_seq', 1, false);


--
-- Name: countries countries_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.countries
    ADD CONSTRAINT countries_pkey PRIMARY KEY (code);


--
-- Name: blog_posts blog_posts_pkey; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.blog_posts
    ADD CONSTRAINT blog_posts_pkey PRIMARY KEY (id);


--
-- Name: blog_posts blog_posts_slug_key; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.blog_posts
    ADD CONSTRAINT blog_posts_slug_key UNIQUE (slug);


--
-- Name: creators creators_handle_key; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.creators
    ADD CONSTRAINT creators_handle_key UNIQUE (handle);


--
-- Name: creators creators_pkey; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.creators
    ADD CONSTRAINT creators_pkey PRIMARY KEY (id);


--
-- Name: customers customers_email_key; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.customers
    ADD CONSTRAINT customers_email_key UNIQUE (email);


--
-- Name: customers customers_pkey; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);


--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);


--
-- Name: payouts payouts_pkey; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.payouts
    ADD CONSTRAINT payouts_pkey PRIMARY KEY (id);


--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);


--
-- Name: products products_sku_key; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.products
    ADD CONSTRAINT products_sku_key UNIQUE (sku);


--
-- Name: reviews reviews_pkey; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.reviews
    ADD CONSTRAINT reviews_pkey PRIMARY KEY (id);


--
-- Name: reviews reviews_product_id_customer_id_key; Type: CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.reviews
    ADD CONSTRAINT reviews_product_id_customer_id_key UNIQUE (product_id, customer_id);


--
-- Name: blog_posts blog_posts_pkey; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.blog_posts
    ADD CONSTRAINT blog_posts_pkey PRIMARY KEY (id);


--
-- Name: blog_posts blog_posts_slug_key; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.blog_posts
    ADD CONSTRAINT blog_posts_slug_key UNIQUE (slug);


--
-- Name: creators creators_handle_key; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.creators
    ADD CONSTRAINT creators_handle_key UNIQUE (handle);


--
-- Name: creators creators_pkey; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.creators
    ADD CONSTRAINT creators_pkey PRIMARY KEY (id);


--
-- Name: customers customers_email_key; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.customers
    ADD CONSTRAINT customers_email_key UNIQUE (email);


--
-- Name: customers customers_pkey; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);


--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);


--
-- Name: payouts payouts_pkey; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.payouts
    ADD CONSTRAINT payouts_pkey PRIMARY KEY (id);


--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);


--
-- Name: products products_sku_key; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.products
    ADD CONSTRAINT products_sku_key UNIQUE (sku);


--
-- Name: reviews reviews_pkey; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.reviews
    ADD CONSTRAINT reviews_pkey PRIMARY KEY (id);


--
-- Name: reviews reviews_product_id_customer_id_key; Type: CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.reviews
    ADD CONSTRAINT reviews_product_id_customer_id_key UNIQUE (product_id, customer_id);


--
-- Name: blog_posts blog_posts_pkey; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.blog_posts
    ADD CONSTRAINT blog_posts_pkey PRIMARY KEY (id);


--
-- Name: blog_posts blog_posts_slug_key; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.blog_posts
    ADD CONSTRAINT blog_posts_slug_key UNIQUE (slug);


--
-- Name: creators creators_handle_key; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.creators
    ADD CONSTRAINT creators_handle_key UNIQUE (handle);


--
-- Name: creators creators_pkey; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.creators
    ADD CONSTRAINT creators_pkey PRIMARY KEY (id);


--
-- Name: customers customers_email_key; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.customers
    ADD CONSTRAINT customers_email_key UNIQUE (email);


--
-- Name: customers customers_pkey; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);


--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);


--
-- Name: payouts payouts_pkey; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.payouts
    ADD CONSTRAINT payouts_pkey PRIMARY KEY (id);


--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);


--
-- Name: products products_sku_key; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.products
    ADD CONSTRAINT products_sku_key UNIQUE (sku);


--
-- Name: reviews reviews_pkey; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.reviews
    ADD CONSTRAINT reviews_pkey PRIMARY KEY (id);


--
-- Name: reviews reviews_product_id_customer_id_key; Type: CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.reviews
    ADD CONSTRAINT reviews_product_id_customer_id_key UNIQUE (product_id, customer_id);


--
-- Name: orders_customer_id_idx; Type: INDEX; Schema: tenant_acme; Owner: postgres
--

CREATE INDEX orders_customer_id_idx ON tenant_acme.orders USING btree (customer_id);


--
-- Name: orders_customer_id_idx; Type: INDEX; Schema: tenant_globex; Owner: postgres
--

CREATE INDEX orders_customer_id_idx ON tenant_globex.orders USING btree (customer_id);


--
-- Name: orders_customer_id_idx; Type: INDEX; Schema: tenant_initech; Owner: postgres
--

CREATE INDEX orders_customer_id_idx ON tenant_initech.orders USING btree (customer_id);


--
-- Name: blog_posts blog_posts_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.blog_posts
    ADD CONSTRAINT blog_posts_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_acme.creators(id);


--
-- Name: orders orders_customer_id_fkey; Type: FK CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES tenant_acme.customers(id);


--
-- Name: payouts payouts_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.payouts
    ADD CONSTRAINT payouts_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_acme.creators(id);


--
-- Name: products products_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.products
    ADD CONSTRAINT products_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_acme.creators(id);


--
-- Name: reviews reviews_customer_id_fkey; Type: FK CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.reviews
    ADD CONSTRAINT reviews_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES tenant_acme.customers(id);


--
-- Name: reviews reviews_product_id_fkey; Type: FK CONSTRAINT; Schema: tenant_acme; Owner: postgres
--

ALTER TABLE ONLY tenant_acme.reviews
    ADD CONSTRAINT reviews_product_id_fkey FOREIGN KEY (product_id) REFERENCES tenant_acme.products(id) ON DELETE CASCADE;


--
-- Name: blog_posts blog_posts_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.blog_posts
    ADD CONSTRAINT blog_posts_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_globex.creators(id);


--
-- Name: orders orders_customer_id_fkey; Type: FK CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES tenant_globex.customers(id);


--
-- Name: payouts payouts_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.payouts
    ADD CONSTRAINT payouts_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_globex.creators(id);


--
-- Name: products products_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.products
    ADD CONSTRAINT products_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_globex.creators(id);


--
-- Name: reviews reviews_customer_id_fkey; Type: FK CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.reviews
    ADD CONSTRAINT reviews_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES tenant_globex.customers(id);


--
-- Name: reviews reviews_product_id_fkey; Type: FK CONSTRAINT; Schema: tenant_globex; Owner: postgres
--

ALTER TABLE ONLY tenant_globex.reviews
    ADD CONSTRAINT reviews_product_id_fkey FOREIGN KEY (product_id) REFERENCES tenant_globex.products(id) ON DELETE CASCADE;


--
-- Name: blog_posts blog_posts_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.blog_posts
    ADD CONSTRAINT blog_posts_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_initech.creators(id);


--
-- Name: orders orders_customer_id_fkey; Type: FK CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES tenant_initech.customers(id);


--
-- Name: payouts payouts_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.payouts
    ADD CONSTRAINT payouts_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_initech.creators(id);


--
-- Name: products products_creator_id_fkey; Type: FK CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.products
    ADD CONSTRAINT products_creator_id_fkey FOREIGN KEY (creator_id) REFERENCES tenant_initech.creators(id);


--
-- Name: reviews reviews_customer_id_fkey; Type: FK CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.reviews
    ADD CONSTRAINT reviews_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES tenant_initech.customers(id);


--
-- Name: reviews reviews_product_id_fkey; Type: FK CONSTRAINT; Schema: tenant_initech; Owner: postgres
--

ALTER TABLE ONLY tenant_initech.reviews
    ADD CONSTRAINT reviews_product_id_fkey FOREIGN KEY (product_id) REFERENCES tenant_initech.products(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict rAyd2bOQng1NOg1hcG1rsfXq5W8xtYC9lTePVMw2oEP27sCzTREvQAaCl34mPuZ

